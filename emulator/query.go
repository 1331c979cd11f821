package emulator

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
)

// queryService describes one AWS Query protocol service.
type queryService struct {
	Name    string // signing name, as in Call.Service
	Version string
	Xmlns   string
	// Ops maps an Action to its handler. A handler returns the value that
	// becomes the <ActionResult> element, or nil for operations without
	// output, whose response has no Result element.
	Ops map[string]func(s *Server, p queryParams) (any, *apiError)
	// Writes names the Ops that change state: they run under the state's
	// exclusive lock, the others under its shared lock.
	Writes map[string]bool
	// Unlocked names the Ops that take the locks they need themselves,
	// because they read another account's state (sts:AssumeRole): holding
	// two accounts' locks at once could deadlock.
	Unlocked map[string]bool
}

// queryParams are a Query request's form values without Action and Version.
type queryParams url.Values

func (p queryParams) get(k string) string { return url.Values(p).Get(k) }

// list reads a Query list (Name.member.1, Name.member.2, ...).
func (p queryParams) list(name string) []string {
	var out []string
	for i := 1; ; i++ {
		vs, ok := p[name+".member."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, vs...)
	}
}

// maxItems reads an IAM MaxItems-style integer; 0 when absent.
func (p queryParams) maxItems(name string) (int, *apiError) {
	v := p.get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPageSize {
		return 0, validationError("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have value between 1 and %d", v, lowerFirst(name), maxPageSize)
	}
	return n, nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]|0x20) + s[1:]
}

// serveQuery parses a Query request (form values in the body or the URL),
// records it and answers with <ActionResponse><ActionResult> XML.
func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request, body []byte, reqID string, svc *queryService) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeQueryError(w, svc.Xmlns, reqID, errorf(http.StatusBadRequest, "MalformedQueryString", "cannot parse request body: %v", err))
		return
	}
	for k, vs := range r.URL.Query() {
		form[k] = append(form[k], vs...)
	}
	action := form.Get("Action")
	params := url.Values{}
	for k, vs := range form {
		if k != "Action" && k != "Version" && k != callerParam {
			params[k] = vs
		}
	}
	call := Call{Service: svc.Name, Operation: action, Params: params.Encode()}
	if c, ok := r.Context().Value(callerKey{}).(string); ok {
		params[callerParam] = []string{c}
	}
	if e := s.injectedFailure(call, r); e != nil {
		writeQueryError(w, svc.Xmlns, reqID, e)
		return
	}
	if !s.admit(call, r) {
		writeQueryError(w, svc.Xmlns, reqID, queryThrottling())
		return
	}
	if action == "" {
		writeQueryError(w, svc.Xmlns, reqID, errorf(http.StatusBadRequest, "MissingAction", "Missing Action"))
		return
	}
	op, ok := svc.Ops[action]
	if !ok {
		writeQueryError(w, svc.Xmlns, reqID, invalidAction(action, svc.Version))
		return
	}
	var result any
	var aerr *apiError
	if svc.Unlocked[action] {
		result, aerr = op(s, queryParams(params))
	} else {
		result, aerr = s.runLocked(svc.Writes[action], func() (any, *apiError) { return op(s, queryParams(params)) })
	}
	if aerr != nil {
		writeQueryError(w, svc.Xmlns, reqID, aerr)
		return
	}
	resp := queryResponse{
		XMLName:  xml.Name{Local: action + "Response"},
		Xmlns:    svc.Xmlns,
		Metadata: responseMetadata{RequestID: reqID},
	}
	if result != nil {
		resp.Result = &namedElement{Name: action + "Result", Value: result}
	}
	writeXML(w, http.StatusOK, reqID, resp)
}

// runLocked runs an operation under the state lock: exclusive for a write,
// shared for a read.
func (s *Server) runLocked(write bool, op func() (any, *apiError)) (any, *apiError) {
	if write {
		s.st.mu.Lock()
		defer s.st.mu.Unlock()
	} else {
		s.st.mu.RLock()
		defer s.st.mu.RUnlock()
	}
	return op()
}

// queryResponse is the Query success envelope.
type queryResponse struct {
	XMLName  xml.Name
	Xmlns    string           `xml:"xmlns,attr"`
	Result   *namedElement    `xml:"Result,omitempty"`
	Metadata responseMetadata `xml:"ResponseMetadata"`
}

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

// namedElement marshals Value under an element name chosen at run time.
type namedElement struct {
	Name  string
	Value any
}

func (n *namedElement) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	return e.EncodeElement(n.Value, xml.StartElement{Name: xml.Name{Local: n.Name}})
}
