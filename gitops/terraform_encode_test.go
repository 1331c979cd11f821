package gitops

import (
	"errors"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
)

// refTF is a jsonencode policy that uses references the way real
// Terraform does: resource attributes, data sources in a Condition,
// interpolated strings, an Action given by a variable.
const refTF = `resource "aws_iam_policy" "app" {
  name = "${var.prefix}-app"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # the app's log bucket
        Sid    = "Logs"
        Effect = "Allow"
        Action = [
          "s3:GetObject",
          "s3:PutObject",
          "s3:DeleteObject",
        ]
        Resource = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/$${aws:username}/*"]
        Condition = {
          StringEquals = {
            "aws:SourceAccount" = data.aws_caller_identity.current.account_id
          }
        }
      },
      {
        Sid      = "Admin"
        Effect   = "Allow"
        Action   = var.admin_actions
        Resource = "*"
      },
      { Sid = "Params", Effect = "Allow", NotAction = ["iam:*"], Resource = "arn:aws:ssm:${var.region}:${data.aws_caller_identity.current.account_id}:parameter/${var.prefix}-*" },
      {
        Effect   = "Allow"
        Action   = "sqs:SendMessage"
        Resource = aws_sqs_queue.q.arn
      },
    ]
  })
}
`

// The live documents: what Terraform deployed from refTF.
const (
	refLogs   = `{"Sid":"Logs","Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject"],"Resource":["arn:aws:s3:::app-logs","arn:aws:s3:::app-logs/${aws:username}/*"],"Condition":{"StringEquals":{"aws:SourceAccount":"111122223333"}}}`
	refAdmin  = `{"Sid":"Admin","Effect":"Allow","Action":["s3:*","sqs:*"],"Resource":"*"}`
	refParams = `{"Sid":"Params","Effect":"Allow","NotAction":["iam:*"],"Resource":"arn:aws:ssm:eu-west-1:111122223333:parameter/app-*"}`
	refQueue  = `{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:eu-west-1:111122223333:q"}`
	refBefore = `{"Version":"2012-10-17","Statement":[` + refLogs + `,` + refAdmin + `,` + refParams + `,` + refQueue + `]}`
	refAfter  = `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"Logs","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::app-logs","arn:aws:s3:::app-logs/${aws:username}/*"],"Condition":{"StringEquals":{"aws:SourceAccount":"111122223333"}}},` +
		`{"Sid":"Params","Effect":"Allow","Action":["ssm:GetParameter","ssm:GetParameters"],"Resource":"arn:aws:ssm:eu-west-1:111122223333:parameter/app-*"},` +
		refQueue + `]}`
)

// refWant is refTF refined to refAfter: only Action values change and the
// Admin statement goes; every reference stays byte for byte.
func refWant(t *testing.T) string {
	t.Helper()
	want := refTF
	for _, r := range [][2]string{
		{"          \"s3:PutObject\",\n          \"s3:DeleteObject\",\n", ""},
		{`      {
        Sid      = "Admin"
        Effect   = "Allow"
        Action   = var.admin_actions
        Resource = "*"
      },
`, ""},
		{`NotAction = ["iam:*"]`, `Action = ["ssm:GetParameter", "ssm:GetParameters"]`},
	} {
		if !strings.Contains(want, r[0]) {
			t.Fatalf("fixture lacks %q", r[0])
		}
		want = strings.Replace(want, r[0], r[1], 1)
	}
	return want
}

func TestTerraformJSONEncodeWithReferences(t *testing.T) {
	c := change("app", "app", iamprune.PolicyManaged, refBefore, refAfter)
	want := refWant(t)
	editTF(t, refTF, "aws_iam_policy.app", c, want)
	for _, ref := range []string{
		"Resource = [aws_s3_bucket.logs.arn, \"${aws_s3_bucket.logs.arn}/$${aws:username}/*\"]",
		`"aws:SourceAccount" = data.aws_caller_identity.current.account_id`,
		`Resource = "arn:aws:ssm:${var.region}:${data.aws_caller_identity.current.account_id}:parameter/${var.prefix}-*"`,
		"Resource = aws_sqs_queue.q.arn",
		`name = "${var.prefix}-app"`,
	} {
		if !strings.Contains(want, ref) {
			t.Errorf("the result lost %s", ref)
		}
	}

	// Run again on the refined file: it already holds the refinement.
	if out, status, err := edit(t, "iam.tf", want, "aws_iam_policy.app", c); err != nil || status != statusUnchanged || out != want {
		t.Errorf("second run: %v %s\n%s", err, status, out)
	}

	// What the file states literally must agree with the live policy.
	drifted := strings.Replace(refTF, `Action   = "sqs:SendMessage"`, `Action   = "sqs:ReceiveMessage"`, 1)
	var d *driftError
	if _, _, err := edit(t, "iam.tf", drifted, "aws_iam_policy.app", c); !errors.As(err, &d) {
		t.Errorf("drift: %v, want a drift error", err)
	}
}

func TestTerraformJSONEncodeReferenceOneStatement(t *testing.T) {
	// Statement written as one object: narrowed in place.
	tf := `resource "aws_iam_role_policy" "r" {
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = { Effect = "Allow", Action = ["s3:GetObject", "s3:PutObject"], Resource = "${aws_s3_bucket.b.arn}/*" }
  })
}
`
	before := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::b/*"}}`
	after := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/*"}]}`
	want := strings.Replace(tf, `Action = ["s3:GetObject", "s3:PutObject"]`, `Action = ["s3:GetObject"]`, 1)
	editTF(t, tf, "aws_iam_role_policy.r", change("r", "r", iamprune.PolicyInline, before, after), want)

	// One object is not a list to remove the statement from.
	_, _, err := edit(t, "iam.tf", tf, "aws_iam_role_policy.r", change("r", "r", iamprune.PolicyInline, before, `{"Version":"2012-10-17","Statement":[]}`))
	if err == nil || !strings.Contains(err.Error(), "line 4: the policy's Statement is one object, not a list, so its statement cannot be removed") {
		t.Errorf("drop: %v", err)
	}
}

func TestTerraformJSONEncodeReferencesRefused(t *testing.T) {
	readBefore := `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::b/*"},` +
		`{"Sid":"Queue","Effect":"Allow","Action":"sqs:*","Resource":"*"}]}`
	readAfter := `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/*"},` +
		`{"Sid":"Queue","Effect":"Allow","Action":"sqs:*","Resource":"*"}]}`
	c := change("r", "r", iamprune.PolicyManaged, readBefore, readAfter)
	doc := func(statements string) string {
		return `resource "aws_iam_policy" "r" {
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = ` + statements + `
  })
}
`
	}
	read := func(action string) string {
		return `{ Sid = "Read", Effect = "Allow", Action = ` + action + `, Resource = "${aws_s3_bucket.b.arn}/*" }`
	}
	queue := `{ Sid = "Queue", Effect = "Allow", Action = "sqs:*", Resource = "*" }`
	for _, tc := range []struct{ name, src, want string }{
		{"action from a function call", doc("[\n      " + read(`concat(["s3:GetObject"], var.extra)`) + ",\n      " + queue + ",\n    ]"),
			`line 5: the Action of statement 1 is an expression (concat(["s3:GetObject"], var.extra))`},
		{"action list with a reference", doc("[" + read(`["s3:GetObject", "s3:PutObject", local.delete]`) + ", " + queue + "]"),
			`line 4: the Action of statement 1 is an expression (["s3:GetObject", "s3:PutObject", local.delete])`},
		{"interpolated action", doc("[" + read(`["s3:GetObject", "s3:PutObject", "s3:${var.verb}"]`) + ", " + queue + "]"),
			`the Action of statement 1 is an expression`},
		{"statements from a local", doc("local.statements"),
			`line 4: the policy in jsonencode(...) uses references, so it can only be edited statement by statement, and its Statement is not a list written out`},
		{"statements from a function call", doc("concat([" + read(`["s3:GetObject"]`) + "], local.more)"),
			`line 4: the policy in jsonencode(...) uses references, so it can only be edited statement by statement, and its Statement is not a list written out`},
		{"statement from a local", doc("[\n      local.read,\n      " + queue + ",\n    ]"),
			`line 5: the policy in jsonencode(...) uses references, so it can only be edited statement by statement, and statement 1 is not an object written out`},
		{"key from an expression", doc("[{ Sid = \"Read\", (local.key) = \"Allow\", Resource = var.arn }, " + queue + "]"),
			`line 4: the policy in jsonencode(...) uses references, so it can only be edited statement by statement, and a key of statement 1 is an expression`},
		{"no statement", `resource "aws_iam_policy" "r" {
  policy = jsonencode({ Version = var.version })
}
`, `line 2: the policy in jsonencode(...) uses references, so it can only be edited statement by statement, and it has no Statement written out`},
	} {
		_, _, err := edit(t, "iam.tf", tc.src, "aws_iam_policy.r", c)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "edit it by hand") {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}

	// An Action given by a reference is fine when the statement is dropped
	// or keeps its actions.
	src := doc("[\n      " + read(`["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]`) + ",\n      { Sid = \"Queue\", Effect = \"Allow\", Action = var.queue_actions, Resource = \"*\" },\n    ]")
	dropAfter := `{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/*"}]}`
	want := strings.Replace(src, "      { Sid = \"Queue\", Effect = \"Allow\", Action = var.queue_actions, Resource = \"*\" },\n", "", 1)
	want = strings.Replace(want, `["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]`, `["s3:GetObject"]`, 1)
	editTF(t, src, "aws_iam_policy.r", change("r", "r", iamprune.PolicyManaged, readBefore, dropAfter), want)
	want = strings.Replace(src, `["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]`, `["s3:GetObject"]`, 1)
	editTF(t, src, "aws_iam_policy.r", c, want)

	// A refinement that reorganised the statements (a split) cannot be
	// written statement by statement.
	split := `{"Version":"2012-10-17","Statement":[{"Sid":"Part1","Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/*"}]}`
	if _, _, err := edit(t, "iam.tf", src, "aws_iam_policy.r", change("r", "r", iamprune.PolicyManaged, readBefore, split, readAfter)); err == nil || !strings.Contains(err.Error(), "can only be edited statement by statement") {
		t.Errorf("split: %v", err)
	}
}
