package catalog

// AccessLevel is the access level AWS assigns to an action in the Service
// Authorization Reference.
type AccessLevel string

// The access levels, with AWS's wording.
const (
	List                  AccessLevel = "List"
	Read                  AccessLevel = "Read"
	Write                 AccessLevel = "Write"
	PermissionsManagement AccessLevel = "Permissions management"
	Tagging               AccessLevel = "Tagging"
)

// AccessLevels lists every access level in a stable order.
var AccessLevels = []AccessLevel{List, Read, Write, PermissionsManagement, Tagging}

// Valid reports whether l is one of the five access levels.
func (l AccessLevel) Valid() bool {
	switch l {
	case List, Read, Write, PermissionsManagement, Tagging:
		return true
	}
	return false
}

// Action is one IAM action. Service is the lower-case service prefix and
// Name the action name with AWS's capitalisation.
type Action struct {
	Service     string
	Name        string
	AccessLevel AccessLevel
}

// String returns the action as it is written in a policy: "service:Name".
func (a Action) String() string { return a.Service + ":" + a.Name }
