package emulator

import (
	"slices"

	"github.com/iamprune/iamprune/snapshot"
)

// Role tags. IAM tag keys are case insensitive but keep their case: a tag
// whose key differs only in case replaces the existing one.

func (s *Server) tagRole(p queryParams) (any, *apiError) {
	r, aerr := s.roleParam(p)
	if aerr != nil {
		return nil, aerr
	}
	tags := p.tags("Tags")
	if len(tags) == 0 {
		return nil, missingParam("tags")
	}
	if aerr := checkTags(tags); aerr != nil {
		return nil, aerr
	}
	merged := slices.Clone(r.Tags)
	for _, t := range tags {
		if i := tagIndex(merged, t.Key); i >= 0 {
			merged[i] = t
		} else {
			merged = append(merged, t)
		}
	}
	// The whole request fails when the result would be over the quota.
	if len(merged) > tagsQuota {
		return nil, limitExceeded("Cannot exceed quota for TagsPerRole: %d", tagsQuota)
	}
	r.Tags = merged
	return nil, nil
}

func tagIndex(tags []snapshot.Tag, key string) int {
	return slices.IndexFunc(tags, func(t snapshot.Tag) bool { return fold(t.Key) == fold(key) })
}

// untagRole removes the named keys; keys the role does not have are
// ignored, as in IAM.
func (s *Server) untagRole(p queryParams) (any, *apiError) {
	r, aerr := s.roleParam(p)
	if aerr != nil {
		return nil, aerr
	}
	keys := p.list("TagKeys")
	if len(keys) == 0 {
		return nil, missingParam("tagKeys")
	}
	if len(keys) > tagsQuota {
		return nil, validationError("1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must have length less than or equal to %d", tagsQuota)
	}
	for _, k := range keys {
		if aerr := checkTagKey(k); aerr != nil {
			return nil, aerr
		}
	}
	r.Tags = slices.DeleteFunc(r.Tags, func(t snapshot.Tag) bool {
		return slices.ContainsFunc(keys, func(k string) bool { return fold(k) == fold(t.Key) })
	})
	if len(r.Tags) == 0 {
		r.Tags = nil
	}
	return nil, nil
}

type listTagsResult struct {
	IsTruncated bool         `xml:"IsTruncated"`
	Marker      string       `xml:"Marker,omitempty"`
	Tags        list[xmlTag] `xml:"Tags"`
}

func (s *Server) listRoleTags(p queryParams) (any, *apiError) {
	r, aerr := s.roleParam(p)
	if aerr != nil {
		return nil, aerr
	}
	pg, aerr := s.iamPage(p, len(r.Tags), "ListRoleTags|"+fold(r.RoleName))
	if aerr != nil {
		return nil, aerr
	}
	return listTagsResult{IsTruncated: pg.Next != "", Marker: pg.Next, Tags: xmlTags(r.Tags[pg.Start:pg.End])}, nil
}
