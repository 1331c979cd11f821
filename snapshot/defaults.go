package snapshot

// DefaultAnalyzerName names the analyzer a snapshot without analyzer.json is
// served under, by the emulator and in snapshot mode alike.
const DefaultAnalyzerName = "iamprune-unused-access"

// Caller returns the ARN of the identity the snapshot was captured as, or a
// stable default in the snapshot's account. Snapshot mode and the emulator
// both use it so that both paths protect the same identity.
func (m Meta) Caller() string {
	if m.CallerARN != "" {
		return m.CallerARN
	}
	return "arn:" + m.partition() + ":sts::" + m.AccountID + ":assumed-role/iamprune/snapshot"
}

func (m Meta) partition() string {
	if m.Partition == "" {
		return "aws"
	}
	return m.Partition
}

// AnalyzerOrDefault returns analyzer.json's analyzer, or an active
// ACCOUNT_UNUSED_ACCESS analyzer named DefaultAnalyzerName in the snapshot's
// account and region.
func (s *Snapshot) AnalyzerOrDefault() Analyzer {
	if s.Analyzer != nil {
		return *s.Analyzer
	}
	region := s.Meta.Region
	if region == "" {
		region = "us-east-1"
	}
	created := s.Meta.CapturedAt
	return Analyzer{
		Arn:       "arn:" + s.Meta.partition() + ":access-analyzer:" + region + ":" + s.Meta.AccountID + ":analyzer/" + DefaultAnalyzerName,
		Name:      DefaultAnalyzerName,
		Type:      "ACCOUNT_UNUSED_ACCESS",
		Status:    "ACTIVE",
		CreatedAt: &created,
	}
}
