// Package credreport reads and writes IAM's credential report, the CSV
// that `aws iam get-credential-report` returns (base64-decoded), as the
// root package's CredentialReport. The report's own words N/A,
// no_information and not_supported are values, not errors; a missing
// column, an unknown word or an unparseable date is bad input, named by
// file, line and column. Writing is deterministic: the columns in IAM's
// order, dates in IAM's format, rows in the given order.
//
// It imports only the root and internal packages; snapshot, emulator and
// the AWS adapter import it.
package credreport

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/internal/input"
)

// Columns are the report's columns in the order IAM writes them.
var Columns = []string{
	"user", "arn", "user_creation_time", "password_enabled", "password_last_used",
	"password_last_changed", "password_next_rotation", "mfa_active",
	"access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
	"access_key_1_last_used_region", "access_key_1_last_used_service",
	"access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
	"access_key_2_last_used_region", "access_key_2_last_used_service",
	"cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated",
}

// required are the columns iamprune reads; a report without one of them is
// bad input. The others (MFA, rotation, certificates, key regions and
// services) read as N/A or false when absent.
var required = map[string]bool{
	"user": true, "arn": true, "user_creation_time": true, "password_enabled": true,
	"password_last_used": true, "password_last_changed": true,
	"access_key_1_active": true, "access_key_1_last_rotated": true, "access_key_1_last_used_date": true,
	"access_key_2_active": true, "access_key_2_last_rotated": true, "access_key_2_last_used_date": true,
}

// dateLayout is how IAM writes dates in the report.
const dateLayout = "2006-01-02T15:04:05+00:00"

// Parse reads a report. name is the file in messages. The report carries
// no generation time: callers set GeneratedTime.
func Parse(data []byte, name string) (*iamprune.CredentialReport, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	// Every record must have as many fields as the header (csv's default).
	header, err := r.Read()
	switch {
	case errors.Is(err, io.EOF):
		return nil, iamprune.Errorf(iamprune.EINVALID, "credreport: %s is empty: want a header line naming the columns", name)
	case err != nil:
		return nil, csvErr(name, err)
	}
	p := &parser{name: name, col: map[string]int{}}
	for i, h := range header {
		p.col[strings.TrimSpace(h)] = i
	}
	for _, c := range Columns {
		if _, ok := p.col[c]; !ok && required[c] {
			return nil, iamprune.Errorf(iamprune.EINVALID, "credreport: %s:1: column %s is missing (a credential report has %s)", name, c, strings.Join(Columns, ","))
		}
	}
	rep := &iamprune.CredentialReport{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rep, nil
		}
		if err != nil {
			return nil, csvErr(name, err)
		}
		p.rec, p.r = rec, r
		u, err := p.row()
		if err != nil {
			return nil, err
		}
		rep.Users = append(rep.Users, u)
	}
}

func csvErr(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return iamprune.Errorf(iamprune.EINVALID, "credreport: %s:%d:%d: %v", name, pe.Line, pe.Column, pe.Err)
	}
	return iamprune.Errorf(iamprune.EINVALID, "credreport: %s: %v", name, err)
}

// parser reads one record at a time; col maps column names to indexes.
type parser struct {
	name string
	col  map[string]int
	rec  []string
	r    *csv.Reader
	err  error
}

// cell returns the named column's value and whether the header has it.
func (p *parser) cell(column string) (string, int, bool) {
	i, ok := p.col[column]
	if !ok || i >= len(p.rec) {
		return "", i, ok
	}
	return p.rec[i], i, true
}

// fail records the first problem, naming the line and column.
func (p *parser) fail(i int, column, format string, args ...any) {
	if p.err != nil {
		return
	}
	line, _ := p.r.FieldPos(0)
	if i < len(p.rec) {
		line, _ = p.r.FieldPos(i)
	}
	p.err = iamprune.Errorf(iamprune.EINVALID, "credreport: %s:%d: column %s: %s", p.name, line, column, fmt.Sprintf(format, args...))
}

func (p *parser) row() (iamprune.CredentialReportUser, error) {
	u := iamprune.CredentialReportUser{
		User:                 p.text("user", true),
		ARN:                  p.text("arn", true),
		PasswordEnabled:      p.reportBool("password_enabled"),
		PasswordLastUsed:     p.date("password_last_used"),
		PasswordLastChanged:  p.date("password_last_changed"),
		PasswordNextRotation: p.date("password_next_rotation"),
		MFAActive:            p.boolean("mfa_active"),
	}
	created := p.date("user_creation_time")
	if created.State != iamprune.ReportValue {
		_, i, _ := p.cell("user_creation_time")
		p.fail(i, "user_creation_time", "want a date, got %s", created.State)
	}
	u.CreationTime = created.At
	for k := range u.AccessKeys {
		pre := fmt.Sprintf("access_key_%d_", k+1)
		u.AccessKeys[k] = iamprune.ReportKey{
			Active:          p.boolean(pre + "active"),
			LastRotated:     p.date(pre + "last_rotated"),
			LastUsedDate:    p.date(pre + "last_used_date"),
			LastUsedRegion:  p.text(pre+"last_used_region", false),
			LastUsedService: p.text(pre+"last_used_service", false),
		}
	}
	for c := range u.Certs {
		pre := fmt.Sprintf("cert_%d_", c+1)
		u.Certs[c] = iamprune.ReportCert{Active: p.boolean(pre + "active"), LastRotated: p.date(pre + "last_rotated")}
	}
	return u, p.err
}

// text reads a string column; N/A is "". A required one must not be empty.
func (p *parser) text(column string, req bool) string {
	v, i, ok := p.cell(column)
	if !ok || v == string(iamprune.ReportNA) {
		return ""
	}
	if req && v == "" {
		p.fail(i, column, "empty")
	}
	return v
}

// state reads one of the report's words, or reports false.
func state(v string) (iamprune.ReportState, bool) {
	for _, s := range iamprune.ReportStates {
		if v == string(s) {
			return s, true
		}
	}
	return iamprune.ReportValue, false
}

// date reads an ISO 8601 date or one of the report's words. An absent
// optional column is N/A.
func (p *parser) date(column string) iamprune.ReportTime {
	v, i, ok := p.cell(column)
	if !ok {
		return iamprune.ReportTime{State: iamprune.ReportNA}
	}
	if s, ok := state(v); ok {
		return iamprune.ReportTime{State: s}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		p.fail(i, column, "want an ISO 8601 date (2006-01-02T15:04:05+00:00), N/A, no_information or not_supported, got %s", input.Snippet(v))
		return iamprune.ReportTime{State: iamprune.ReportNA}
	}
	return iamprune.ReportDate(t)
}

// boolean reads true or false (IAM writes lower case; any case is
// accepted). An absent optional column is false.
func (p *parser) boolean(column string) bool {
	v, i, ok := p.cell(column)
	if !ok {
		return false
	}
	switch strings.ToLower(v) {
	case "true":
		return true
	case "false":
		return false
	}
	p.fail(i, column, "want true or false, got %s", input.Snippet(v))
	return false
}

// reportBool reads true, false or one of the report's words.
func (p *parser) reportBool(column string) iamprune.ReportBool {
	v, _, _ := p.cell(column)
	if s, ok := state(v); ok {
		return iamprune.ReportBool{State: s}
	}
	return iamprune.ReportBool{Value: p.boolean(column)}
}

// Marshal writes the report as IAM does: every column, in IAM's order,
// rows in order, dates in UTC as 2006-01-02T15:04:05+00:00, and N/A for
// empty strings.
func Marshal(rep *iamprune.CredentialReport) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(Columns) // a bytes.Buffer does not fail
	for i := range rep.Users {
		_ = w.Write(record(&rep.Users[i]))
	}
	w.Flush()
	return b.Bytes()
}

func record(u *iamprune.CredentialReportUser) []string {
	rec := []string{
		u.User, u.ARN, u.CreationTime.UTC().Format(dateLayout), boolText(u.PasswordEnabled),
		dateText(u.PasswordLastUsed), dateText(u.PasswordLastChanged), dateText(u.PasswordNextRotation),
		fmt.Sprint(u.MFAActive),
	}
	for _, k := range u.AccessKeys {
		rec = append(rec, fmt.Sprint(k.Active), dateText(k.LastRotated), dateText(k.LastUsedDate), orNA(k.LastUsedRegion), orNA(k.LastUsedService))
	}
	for _, c := range u.Certs {
		rec = append(rec, fmt.Sprint(c.Active), dateText(c.LastRotated))
	}
	return rec
}

func dateText(t iamprune.ReportTime) string {
	if t.State != iamprune.ReportValue {
		return string(t.State)
	}
	return t.At.UTC().Format(dateLayout)
}

func boolText(b iamprune.ReportBool) string {
	if b.State != iamprune.ReportValue {
		return string(b.State)
	}
	return fmt.Sprint(b.Value)
}

func orNA(s string) string {
	if s == "" {
		return string(iamprune.ReportNA)
	}
	return s
}
