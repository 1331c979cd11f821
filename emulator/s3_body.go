package emulator

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// S3 request payloads: the aws-chunked content encoding that SDKs use for
// streamed uploads and trailing checksums, and the integrity checks S3
// makes (x-amz-content-sha256, Content-MD5, x-amz-checksum-*).

const checksumHeaderPrefix = "X-Amz-Checksum-"

// crc64NVME is the reversed CRC-64/NVME polynomial, as hash/crc64 wants it.
const crc64NVME = 0x9a6c9329ac4bc9b5

// checksumAlgorithms are the x-amz-checksum-* algorithms S3 verifies that
// the standard library can compute; others (xxhash) are stored unchecked.
var checksumAlgorithms = map[string]func() hash.Hash{
	"crc32":     func() hash.Hash { return crc32.NewIEEE() },
	"crc32c":    func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) },
	"crc64nvme": func() hash.Hash { return crc64.New(crc64.MakeTable(crc64NVME)) },
	"md5":       md5.New,
	"sha1":      sha1.New,
	"sha256":    sha256.New,
	"sha512":    sha512.New,
}

// checksumNonValues are x-amz-checksum-* headers that name no algorithm.
var checksumNonValues = map[string]bool{"type": true, "mode": true, "algorithm": true}

// decodePayload returns the object bytes of a PutObject request and the
// checksums it carries (lower-case algorithm name to base64 value), from
// headers or aws-chunked trailers, after checking every integrity claim.
func decodePayload(h http.Header, body []byte) ([]byte, map[string]string, *apiError) {
	sums := map[string]string{}
	payloadHash := h.Get("X-Amz-Content-Sha256")
	if strings.HasPrefix(payloadHash, "STREAMING-") || strings.Contains(h.Get("Content-Encoding"), "aws-chunked") {
		data, trailers, err := decodeAWSChunked(body)
		if err != nil {
			return nil, nil, errorf(http.StatusBadRequest, "IncompleteBody", "cannot decode the aws-chunked payload: %v", err)
		}
		if n := h.Get("X-Amz-Decoded-Content-Length"); n != "" && n != strconv.Itoa(len(data)) {
			return nil, nil, errorf(http.StatusBadRequest, "IncompleteBody",
				"x-amz-decoded-content-length is %s but the payload holds %d bytes", n, len(data))
		}
		body = data
		for k, v := range trailers {
			if alg, ok := strings.CutPrefix(k, "x-amz-checksum-"); ok {
				sums[alg] = v
			}
		}
	} else if len(payloadHash) == 64 {
		sum := sha256.Sum256(body)
		if !strings.EqualFold(payloadHash, hex.EncodeToString(sum[:])) {
			return nil, nil, errorf(http.StatusBadRequest, "XAmzContentSHA256Mismatch",
				"The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
	}
	if v := h.Get("Content-Md5"); v != "" {
		want, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(want) != md5.Size {
			return nil, nil, errorf(http.StatusBadRequest, "InvalidDigest", "The Content-MD5 you specified was invalid.")
		}
		if got := md5.Sum(body); !bytes.Equal(got[:], want) {
			return nil, nil, errorf(http.StatusBadRequest, "BadDigest", "The Content-MD5 you specified did not match what we received.")
		}
	}
	for k, vs := range h {
		alg, ok := strings.CutPrefix(k, checksumHeaderPrefix)
		if alg = strings.ToLower(alg); ok && len(vs) > 0 && !checksumNonValues[alg] {
			sums[alg] = vs[0]
		}
	}
	for alg, v := range sums {
		newHash := checksumAlgorithms[alg]
		if newHash == nil {
			continue
		}
		want, err := base64.StdEncoding.DecodeString(v)
		hh := newHash()
		if err != nil || len(want) != hh.Size() {
			return nil, nil, errorf(http.StatusBadRequest, "InvalidRequest", "Value for x-amz-checksum-%s header is invalid.", alg)
		}
		hh.Write(body)
		if !bytes.Equal(hh.Sum(nil), want) {
			return nil, nil, errorf(http.StatusBadRequest, "BadDigest", "The %s you specified did not match the calculated checksum.", strings.ToUpper(alg))
		}
	}
	return body, sums, nil
}

// decodeAWSChunked decodes "SIZE[;chunk-signature=SIG]\r\nDATA\r\n" chunks
// up to the zero-size one, then "name:value" trailer lines up to a blank
// line or the end. Signatures are not checked, like everywhere here.
func decodeAWSChunked(body []byte) ([]byte, map[string]string, error) {
	r := bufio.NewReader(bytes.NewReader(body))
	var data []byte
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, nil, fmt.Errorf("chunk header: %w", err)
		}
		sizeHex, _, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ";")
		size, err := strconv.ParseUint(strings.TrimSpace(sizeHex), 16, 31)
		if err != nil {
			return nil, nil, fmt.Errorf("chunk size %q: %w", sizeHex, err)
		}
		if size == 0 {
			break
		}
		chunk := make([]byte, size)
		if _, err := io.ReadFull(r, chunk); err != nil {
			return nil, nil, fmt.Errorf("chunk of %d bytes: %w", size, err)
		}
		data = append(data, chunk...)
		if crlf, err := r.ReadString('\n'); err != nil || strings.TrimRight(crlf, "\r\n") != "" {
			return nil, nil, fmt.Errorf("chunk of %d bytes is not followed by CRLF", size)
		}
	}
	trailers := map[string]string{}
	for {
		line, err := r.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line != "" {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				return nil, nil, fmt.Errorf("malformed trailer %q", line)
			}
			trailers[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
		if err != nil || line == "" {
			return data, trailers, nil
		}
	}
}
