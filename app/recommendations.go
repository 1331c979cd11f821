package app

import (
	"context"
	"log/slog"
	"sync"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/policy"
)

// recommendationWorkers bounds the recommendation jobs polled at once:
// each takes seconds of waiting, not of work.
const recommendationWorkers = 8

// compareRecommendations asks Access Analyzer for its recommendation on
// every finding the plan refines policies for, and records how it compares
// with iamprune's refinement on the entry. iamprune's refinement is what is
// applied either way; a recommendation that cannot be had is reported as
// unavailable, never as a failure of the plan.
func compareRecommendations(ctx context.Context, sess *Session, plan *iamprune.Plan, log *slog.Logger) {
	var todo []int
	for i, a := range plan.Actions {
		if len(a.Policies) > 0 && a.FindingID != "" {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return
	}
	if sess.recommender == nil {
		arn, err := sess.Findings.AnalyzerARN(ctx)
		if err != nil {
			logger(log).Warn("Access Analyzer recommendations unavailable", "err", err)
			return
		}
		sess.recommender = awsapi.NewRecommender(sess.AWS, arn, awsapi.WithRecommendationLogger(logger(log)))
	}
	sem := make(chan struct{}, recommendationWorkers)
	var wg sync.WaitGroup
	for _, i := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func(a *iamprune.Action) {
			defer func() { <-sem; wg.Done() }()
			rec, err := sess.recommender.Recommendation(ctx, a.FindingID)
			var check iamprune.RecommendationCheck
			if err != nil {
				check = iamprune.RecommendationCheck{Status: "unavailable", Detail: err.Error()}
			} else {
				check = policy.CompareRecommendation(a.Policies, rec)
			}
			a.Recommendation = &check
		}(&plan.Actions[i])
	}
	wg.Wait()
	for _, w := range sess.recommender.Warnings() {
		plan.Warnings = append(plan.Warnings, w)
		logger(log).Warn(w.Message, "source", w.Source)
	}
}
