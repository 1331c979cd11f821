package emulator

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
)

// apiError is an AWS error as one service would return it. Each protocol
// renders it in its own shape: Query as an XML ErrorResponse, REST-JSON as
// a JSON body plus the X-Amzn-Errortype header.
type apiError struct {
	Status  int
	Code    string
	Message string
	// Receiver marks a server-side fault (Query <Type>Receiver</Type>).
	Receiver bool
	// Extra members of modelled Access Analyzer errors.
	ResourceID   string
	ResourceType string
	Reason       string
	// S3Extra are the members some S3 errors add, as name, value pairs
	// (BucketName, Key, Condition).
	S3Extra []string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// IAM and STS (Query) errors.

func noSuchEntity(format string, args ...any) *apiError {
	return errorf(http.StatusNotFound, "NoSuchEntity", format, args...)
}

func validationError(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "ValidationError", format, args...)
}

// missingParam is the message AWS gives when a required member is absent.
func missingParam(member string) *apiError {
	return validationError("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
}

func limitExceeded(format string, args ...any) *apiError {
	return errorf(http.StatusConflict, "LimitExceeded", format, args...)
}

func malformedPolicy(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "MalformedPolicyDocument", format, args...)
}

func entityAlreadyExists(format string, args ...any) *apiError {
	return errorf(http.StatusConflict, "EntityAlreadyExists", format, args...)
}

func deleteConflict(format string, args ...any) *apiError {
	return errorf(http.StatusConflict, "DeleteConflict", format, args...)
}

func invalidInput(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "InvalidInput", format, args...)
}

func passwordPolicyViolation(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "PasswordPolicyViolation", format, args...)
}

// accessDenied is what IAM answers to a change of an AWS managed policy,
// which lives outside the caller's account.
func accessDenied(format string, args ...any) *apiError {
	return errorf(http.StatusForbidden, "AccessDenied", format, args...)
}

func invalidAction(action, version string) *apiError {
	return errorf(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", action, version)
}

func queryThrottling() *apiError {
	return errorf(http.StatusBadRequest, "Throttling", "Rate exceeded")
}

// Access Analyzer (REST-JSON) errors.

func resourceNotFound(id, typ, format string, args ...any) *apiError {
	e := errorf(http.StatusNotFound, "ResourceNotFoundException", format, args...)
	e.ResourceID, e.ResourceType = id, typ
	return e
}

func validationException(format string, args ...any) *apiError {
	e := errorf(http.StatusBadRequest, "ValidationException", format, args...)
	e.Reason = "fieldValidationFailed"
	return e
}

// conflictException is what Access Analyzer answers to creating something
// that exists.
func conflictException(id, typ, format string, args ...any) *apiError {
	e := errorf(http.StatusConflict, "ConflictException", format, args...)
	e.ResourceID, e.ResourceType = id, typ
	return e
}

// serviceQuotaExceeded is Access Analyzer's quota error; the service
// answers it with HTTP 402.
func serviceQuotaExceeded(id, typ, format string, args ...any) *apiError {
	e := errorf(http.StatusPaymentRequired, "ServiceQuotaExceededException", format, args...)
	e.ResourceID, e.ResourceType = id, typ
	return e
}

func jsonThrottling() *apiError {
	return errorf(http.StatusTooManyRequests, "ThrottlingException", "Rate exceeded")
}

// Errors raised before a service is known.

func missingAuth() *apiError {
	return errorf(http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token")
}

func incompleteSignature(format string, args ...any) *apiError {
	return errorf(http.StatusForbidden, "IncompleteSignature", format, args...)
}

func notImplemented(service string) *apiError {
	return errorf(http.StatusNotImplemented, "NotImplemented",
		"the iamprune emulator does not implement service %q yet", service)
}

type xmlErrorResponse struct {
	XMLName   xml.Name     `xml:"ErrorResponse"`
	Xmlns     string       `xml:"xmlns,attr,omitempty"`
	Error     xmlErrorBody `xml:"Error"`
	RequestID string       `xml:"RequestId"`
}

type xmlErrorBody struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// writeQueryError writes the Query protocol error shape (IAM, STS, SNS).
func writeQueryError(w http.ResponseWriter, xmlns, reqID string, e *apiError) {
	typ := "Sender"
	if e.Receiver {
		typ = "Receiver"
	}
	writeXML(w, e.Status, reqID, xmlErrorResponse{
		Xmlns:     xmlns,
		Error:     xmlErrorBody{Type: typ, Code: e.Code, Message: e.Message},
		RequestID: reqID,
	})
}

// writeJSONError writes the REST-JSON error shape. The code goes in the
// X-Amzn-Errortype header, which the SDK reads first, and also in the body
// as __type, which awsJson clients read.
func writeJSONError(w http.ResponseWriter, reqID string, e *apiError) {
	body := map[string]any{"message": e.Message, "__type": e.Code}
	if e.ResourceID != "" {
		body["resourceId"] = e.ResourceID
	}
	if e.ResourceType != "" {
		body["resourceType"] = e.ResourceType
	}
	if e.Reason != "" {
		body["reason"] = e.Reason
	}
	w.Header().Set("X-Amzn-Errortype", e.Code)
	writeJSON(w, e.Status, reqID, body)
}

func writeXML(w http.ResponseWriter, status int, reqID string, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		// Our own shapes always marshal; reaching this is a bug.
		http.Error(w, "emulator: cannot encode XML response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("X-Amzn-Requestid", reqID)
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	w.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, reqID string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "emulator: cannot encode JSON response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-Requestid", reqID)
	w.WriteHeader(status)
	w.Write(b)
}
