package snapshot

import (
	"encoding/json"
	"time"

	"github.com/iamprune/iamprune"
)

// The types below mirror the AWS CLI / API JSON shapes of the snapshot files
// (docs/snapshots.md). IAM shapes use PascalCase, Access Analyzer shapes camelCase.
// They are what the emulator serves, so they keep every field it needs.

// File names inside a snapshot folder.
const (
	MetaFile             = "meta.json"
	AuthDetailsFile      = "account-authorization-details.json"
	AccessKeysFile       = "access-keys.json"
	LoginProfilesFile    = "login-profiles.json"
	FindingsFile         = "findings.json"
	AnalyzerFile         = "analyzer.json"
	CredentialReportFile = "credential-report.csv"
	LastAccessedFile     = "last-accessed.json"
)

// Meta is meta.json.
type Meta struct {
	AccountID  string    `json:"account_id"`
	Partition  string    `json:"partition"`
	Region     string    `json:"region"`
	CapturedAt time.Time `json:"captured_at"`
	// CallerARN (extension) is the identity the snapshot was captured as; it
	// is protected, and the emulator answers GetCallerIdentity with it.
	CallerARN string `json:"caller_arn,omitempty"`
}

// AuthDetails is the merged output of iam get-account-authorization-details.
type AuthDetails struct {
	UserDetailList  []UserDetail          `json:"UserDetailList"`
	GroupDetailList []GroupDetail         `json:"GroupDetailList"`
	RoleDetailList  []RoleDetail          `json:"RoleDetailList"`
	Policies        []ManagedPolicyDetail `json:"Policies"`
}

type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type AttachedPolicy struct {
	PolicyName string `json:"PolicyName"`
	PolicyArn  string `json:"PolicyArn"`
}

type PermissionsBoundary struct {
	PermissionsBoundaryType string `json:"PermissionsBoundaryType"`
	PermissionsBoundaryArn  string `json:"PermissionsBoundaryArn"`
}

// PolicyDetail is an inline policy.
type PolicyDetail struct {
	PolicyName     string         `json:"PolicyName"`
	PolicyDocument PolicyDocument `json:"PolicyDocument"`
}

type UserDetail struct {
	Path                    string               `json:"Path"`
	UserName                string               `json:"UserName"`
	UserId                  string               `json:"UserId"`
	Arn                     string               `json:"Arn"`
	CreateDate              time.Time            `json:"CreateDate"`
	UserPolicyList          []PolicyDetail       `json:"UserPolicyList,omitempty"`
	GroupList               []string             `json:"GroupList,omitempty"`
	AttachedManagedPolicies []AttachedPolicy     `json:"AttachedManagedPolicies,omitempty"`
	PermissionsBoundary     *PermissionsBoundary `json:"PermissionsBoundary,omitempty"`
	Tags                    []Tag                `json:"Tags,omitempty"`
}

type GroupDetail struct {
	Path                    string           `json:"Path"`
	GroupName               string           `json:"GroupName"`
	GroupId                 string           `json:"GroupId"`
	Arn                     string           `json:"Arn"`
	CreateDate              time.Time        `json:"CreateDate"`
	GroupPolicyList         []PolicyDetail   `json:"GroupPolicyList,omitempty"`
	AttachedManagedPolicies []AttachedPolicy `json:"AttachedManagedPolicies,omitempty"`
}

type RoleLastUsed struct {
	LastUsedDate *time.Time `json:"LastUsedDate,omitempty"`
	Region       string     `json:"Region,omitempty"`
}

type InstanceProfile struct {
	Path                string    `json:"Path"`
	InstanceProfileName string    `json:"InstanceProfileName"`
	InstanceProfileId   string    `json:"InstanceProfileId"`
	Arn                 string    `json:"Arn"`
	CreateDate          time.Time `json:"CreateDate"`
}

type RoleDetail struct {
	Path                     string               `json:"Path"`
	RoleName                 string               `json:"RoleName"`
	RoleId                   string               `json:"RoleId"`
	Arn                      string               `json:"Arn"`
	CreateDate               time.Time            `json:"CreateDate"`
	AssumeRolePolicyDocument *PolicyDocument      `json:"AssumeRolePolicyDocument,omitempty"`
	InstanceProfileList      []InstanceProfile    `json:"InstanceProfileList,omitempty"`
	RolePolicyList           []PolicyDetail       `json:"RolePolicyList,omitempty"`
	AttachedManagedPolicies  []AttachedPolicy     `json:"AttachedManagedPolicies,omitempty"`
	PermissionsBoundary      *PermissionsBoundary `json:"PermissionsBoundary,omitempty"`
	Tags                     []Tag                `json:"Tags,omitempty"`
	RoleLastUsed             *RoleLastUsed        `json:"RoleLastUsed,omitempty"`
}

type PolicyVersion struct {
	Document         PolicyDocument `json:"Document"`
	VersionId        string         `json:"VersionId"`
	IsDefaultVersion bool           `json:"IsDefaultVersion"`
	CreateDate       time.Time      `json:"CreateDate"`
}

type ManagedPolicyDetail struct {
	PolicyName                    string          `json:"PolicyName"`
	PolicyId                      string          `json:"PolicyId"`
	Arn                           string          `json:"Arn"`
	Path                          string          `json:"Path"`
	DefaultVersionId              string          `json:"DefaultVersionId"`
	AttachmentCount               int             `json:"AttachmentCount"`
	PermissionsBoundaryUsageCount int             `json:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool            `json:"IsAttachable"`
	Description                   string          `json:"Description,omitempty"`
	CreateDate                    time.Time       `json:"CreateDate"`
	UpdateDate                    time.Time       `json:"UpdateDate"`
	PolicyVersionList             []PolicyVersion `json:"PolicyVersionList,omitempty"`
}

// AccessKey is one entry of access-keys.json: ListAccessKeys merged with
// GetAccessKeyLastUsed.
type AccessKey struct {
	UserName     string     `json:"UserName"`
	AccessKeyId  string     `json:"AccessKeyId"`
	Status       string     `json:"Status"`
	CreateDate   time.Time  `json:"CreateDate"`
	LastUsedDate *time.Time `json:"LastUsedDate,omitempty"`
	ServiceName  string     `json:"ServiceName,omitempty"`
	Region       string     `json:"Region,omitempty"`
}

// LoginProfile is one entry of login-profiles.json.
type LoginProfile struct {
	UserName              string     `json:"UserName"`
	CreateDate            time.Time  `json:"CreateDate"`
	PasswordResetRequired bool       `json:"PasswordResetRequired"`
	PasswordLastUsed      *time.Time `json:"PasswordLastUsed,omitempty"`
}

// Finding is one aws accessanalyzer get-finding-v2 output with every page of
// findingDetails merged.
type Finding struct {
	AnalyzedAt           *time.Time      `json:"analyzedAt,omitempty"`
	CreatedAt            *time.Time      `json:"createdAt,omitempty"`
	Error                *string         `json:"error,omitempty"`
	Id                   string          `json:"id"`
	Resource             string          `json:"resource,omitempty"`
	ResourceOwnerAccount string          `json:"resourceOwnerAccount"`
	ResourceType         string          `json:"resourceType"`
	Status               string          `json:"status"`
	UpdatedAt            *time.Time      `json:"updatedAt,omitempty"`
	FindingDetails       []FindingDetail `json:"findingDetails"`
	FindingType          string          `json:"findingType,omitempty"`
}

// FindingDetail is the FindingDetails union: exactly one member is set.
// Members this version does not know are kept verbatim in Unknown so that
// the emulator can serve them and readers can warn about them.
type FindingDetail struct {
	UnusedIamRoleDetails          *UnusedIamRoleDetails          `json:"unusedIamRoleDetails,omitempty"`
	UnusedIamUserAccessKeyDetails *UnusedIamUserAccessKeyDetails `json:"unusedIamUserAccessKeyDetails,omitempty"`
	UnusedIamUserPasswordDetails  *UnusedIamUserPasswordDetails  `json:"unusedIamUserPasswordDetails,omitempty"`
	UnusedPermissionDetails       *UnusedPermissionDetails       `json:"unusedPermissionDetails,omitempty"`
	// Unknown holds any other member, keyed by its JSON name.
	Unknown map[string]json.RawMessage `json:"-"`
}

type UnusedIamRoleDetails struct {
	LastAccessed *time.Time `json:"lastAccessed,omitempty"`
}

type UnusedIamUserAccessKeyDetails struct {
	AccessKeyId  string     `json:"accessKeyId"`
	LastAccessed *time.Time `json:"lastAccessed,omitempty"`
}

type UnusedIamUserPasswordDetails struct {
	LastAccessed *time.Time `json:"lastAccessed,omitempty"`
}

type UnusedAction struct {
	Action       string     `json:"action"`
	LastAccessed *time.Time `json:"lastAccessed,omitempty"`
}

type UnusedPermissionDetails struct {
	ServiceNamespace string         `json:"serviceNamespace"`
	Actions          []UnusedAction `json:"actions,omitempty"`
	LastAccessed     *time.Time     `json:"lastAccessed,omitempty"`
}

// Analyzer is the analyzer object of aws accessanalyzer get-analyzer.
type Analyzer struct {
	Arn                    string            `json:"arn"`
	Name                   string            `json:"name"`
	Type                   string            `json:"type"`
	Status                 string            `json:"status"`
	CreatedAt              *time.Time        `json:"createdAt,omitempty"`
	LastResourceAnalyzed   string            `json:"lastResourceAnalyzed,omitempty"`
	LastResourceAnalyzedAt *time.Time        `json:"lastResourceAnalyzedAt,omitempty"`
	Tags                   map[string]string `json:"tags,omitempty"`
	Configuration          json.RawMessage   `json:"configuration,omitempty"`
}

// Snapshot is a loaded snapshot folder.
type Snapshot struct {
	// Name is how the folder is named in messages.
	Name          string
	Meta          Meta
	Auth          AuthDetails
	AccessKeys    []AccessKey
	LoginProfiles []LoginProfile
	// FindingList is findings.json. (It cannot be called Findings: that is
	// the iamprune.FindingSource method.)
	FindingList []Finding
	Analyzer    *Analyzer
	// LastAccessed is last-accessed.json by principal ARN; nil without
	// the file. A principal absent from it has no data (never "unused").
	LastAccessed map[string]*LastAccessedEntry
	// CredentialReport is credential-report.csv, its GeneratedTime the
	// capture time; nil without the file.
	CredentialReport *iamprune.CredentialReport
	// HasAccessKeys, HasLoginProfiles and HasFindings record whether those
	// files existed.
	HasAccessKeys    bool
	HasLoginProfiles bool
	HasFindings      bool
	// Members are the member accounts of an organisation snapshot: its
	// sub-folders that hold a meta.json, in name order (org.go).
	Members []*Snapshot
	// lazy is findings.json left on disk by OpenDir; FindingList is empty.
	lazy *lazyFindings
}

// LastAccessedEntry is one entry of last-accessed.json: the principal's
// ARN and iam get-service-last-accessed-details output (ACTION_LEVEL).
type LastAccessedEntry struct {
	Arn               string                `json:"Arn"`
	JobStatus         string                `json:"JobStatus"`
	JobType           string                `json:"JobType,omitempty"`
	JobCreationDate   *time.Time            `json:"JobCreationDate,omitempty"`
	JobCompletionDate *time.Time            `json:"JobCompletionDate,omitempty"`
	Error             *LastAccessedError    `json:"Error,omitempty"`
	Services          []ServiceLastAccessed `json:"ServicesLastAccessed"`
}

// LastAccessedError is the ErrorDetails of a FAILED job.
type LastAccessedError struct {
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

// ServiceLastAccessed is one element of ServicesLastAccessed.
type ServiceLastAccessed struct {
	ServiceName                string     `json:"ServiceName"`
	ServiceNamespace           string     `json:"ServiceNamespace"`
	LastAuthenticated          *time.Time `json:"LastAuthenticated,omitempty"`
	LastAuthenticatedEntity    string     `json:"LastAuthenticatedEntity,omitempty"`
	LastAuthenticatedRegion    string     `json:"LastAuthenticatedRegion,omitempty"`
	TotalAuthenticatedEntities int        `json:"TotalAuthenticatedEntities"`
	// TrackedActions is nil when IAM tracks no action of the service.
	TrackedActions []TrackedActionLastAccessed `json:"TrackedActionsLastAccessed,omitempty"`
}

// TrackedActionLastAccessed is one element of TrackedActionsLastAccessed.
type TrackedActionLastAccessed struct {
	ActionName         string     `json:"ActionName"`
	LastAccessedTime   *time.Time `json:"LastAccessedTime,omitempty"`
	LastAccessedEntity string     `json:"LastAccessedEntity,omitempty"`
	LastAccessedRegion string     `json:"LastAccessedRegion,omitempty"`
}

// Job statuses of GetServiceLastAccessedDetails.
const (
	JobCompleted  = "COMPLETED"
	JobInProgress = "IN_PROGRESS"
	JobFailed     = "FAILED"
)
