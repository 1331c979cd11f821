package emulator

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/xml"
	"net/http"
)

// S3 speaks REST-XML: errors are a bare <Error> document, request ids go
// in x-amz-request-id and x-amz-id-2, and answers to HEAD requests carry
// no body at all, so clients derive the error code from the status.

// s3Error is S3's error document. Extra holds the members some errors add
// (BucketName, Key, Condition).
type s3Error struct {
	XMLName   xml.Name     `xml:"Error"`
	Code      string       `xml:"Code"`
	Message   string       `xml:"Message"`
	Extra     []xmlElement `xml:",any"`
	RequestID string       `xml:"RequestId"`
	HostID    string       `xml:"HostId"`
}

type xmlElement struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

// createBucketConfiguration is CreateBucket's optional request body.
type createBucketConfiguration struct {
	XMLName            xml.Name `xml:"CreateBucketConfiguration"`
	LocationConstraint string   `xml:"LocationConstraint"`
}

// s3Err is an S3 error with its extra members as name, value pairs.
func s3Err(status int, code, message string, extra ...string) *apiError {
	e := errorf(status, code, "%s", message)
	e.S3Extra = extra
	return e
}

func noSuchBucket(bucket string) *apiError {
	return s3Err(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist", "BucketName", bucket)
}

func noSuchS3Key(key string) *apiError {
	return s3Err(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", "Key", key)
}

func preconditionFailed(condition string) *apiError {
	return s3Err(http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", "Condition", condition)
}

func s3NotImplemented(what string) *apiError {
	return s3Err(http.StatusNotImplemented, "NotImplemented",
		"A header or query you provided implies functionality that is not implemented: the iamprune emulator does not implement "+what)
}

func s3Throttling() *apiError {
	return s3Err(http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
}

// setS3IDs sets the request id headers every S3 answer carries.
func setS3IDs(h http.Header, reqID string) {
	var b [24]byte
	rand.Read(b[:])
	h.Set("X-Amz-Request-Id", reqID)
	h.Set("X-Amz-Id-2", base64.StdEncoding.EncodeToString(b[:]))
}

func writeS3Error(w http.ResponseWriter, r *http.Request, reqID string, e *apiError) {
	setS3IDs(w.Header(), reqID)
	if r.Method == http.MethodHead {
		w.WriteHeader(e.Status)
		return
	}
	doc := s3Error{Code: e.Code, Message: e.Message, RequestID: reqID, HostID: w.Header().Get("X-Amz-Id-2")}
	for i := 0; i+1 < len(e.S3Extra); i += 2 {
		doc.Extra = append(doc.Extra, xmlElement{XMLName: xml.Name{Local: e.S3Extra[i]}, Value: e.S3Extra[i+1]})
	}
	b, err := xml.Marshal(doc)
	if err != nil {
		// Our own shape always marshals; reaching this is a bug.
		http.Error(w, "emulator: cannot encode XML response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.Status)
	w.Write([]byte(xml.Header))
	w.Write(b)
}
