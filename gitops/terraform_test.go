package gitops

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/iamprune/iamprune"
)

// editTF edits a Terraform file and checks that the result is exactly
// want and parses with HCL's own parser.
func editTF(t *testing.T, src, pointer string, c iamprune.PolicyChange, want string) {
	t.Helper()
	out, status, err := edit(t, "iam.tf", src, pointer, c)
	if err != nil || status != StatusWritten {
		t.Fatalf("%v %s", err, status)
	}
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	if _, diags := hclsyntax.ParseConfig([]byte(out), "iam.tf", hcl.InitialPos); diags.HasErrors() {
		t.Errorf("the result does not parse: %v", diags)
	}
}

const (
	twoBefore = `{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket","s3:DeleteBucket"],"Resource":"arn:aws:s3:::b/${aws:username}/*"},{"Sid":"Admin","Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	twoAfter  = `{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/${aws:username}/*"}]}`
)

func TestTerraformJSONEncodeStatementEdits(t *testing.T) {
	// A literal jsonencode is edited statement by statement: its comments,
	// layout and the attributes around it stay.
	tf := `resource "aws_iam_policy" "two" {
  name = "two" # keep
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # reads of the user's prefix
        Sid    = "Read"
        Effect = "Allow"
        Action = [
          "s3:GetObject",
          "s3:ListBucket",
          "s3:DeleteBucket",
        ]
        Resource = "arn:aws:s3:::b/$${aws:username}/*"
      },
      {
        Sid      = "Admin"
        Effect   = "Allow"
        Action   = "s3:*"
        Resource = "*"
      },
    ]
  })
  tags = { team = "data" }
}
`
	want := strings.Replace(tf, `          "s3:ListBucket",
          "s3:DeleteBucket",
`, "", 1)
	want = strings.Replace(want, `      {
        Sid      = "Admin"
        Effect   = "Allow"
        Action   = "s3:*"
        Resource = "*"
      },
`, "", 1)
	editTF(t, tf, "aws_iam_policy.two", change("two", "two", iamprune.PolicyManaged, twoBefore, twoAfter), want)
}

func TestTerraformEscapedString(t *testing.T) {
	c := change("two", "two", iamprune.PolicyInline, twoBefore, twoAfter)
	// Statement edits inside the string keep its JSON layout and the
	// Terraform interpolation; the rest of the file is unchanged.
	tf := `resource "aws_iam_role_policy" "two" {
  role   = aws_iam_role.r.id
  policy = "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Sid\": \"Read\", \"Effect\": \"Allow\", \"Action\": [\"s3:GetObject\", \"s3:ListBucket\", \"s3:DeleteBucket\"], \"Resource\": \"arn:aws:s3:::${var.bucket}/$${aws:username}/*\"}, {\"Sid\": \"Admin\", \"Effect\": \"Allow\", \"Action\": \"s3:*\", \"Resource\": \"*\"}]}"
}
`
	want := strings.Replace(tf, `[\"s3:GetObject\", \"s3:ListBucket\", \"s3:DeleteBucket\"]`, `[\"s3:GetObject\"]`, 1)
	want = strings.Replace(want, `, {\"Sid\": \"Admin\", \"Effect\": \"Allow\", \"Action\": \"s3:*\", \"Resource\": \"*\"}`, "", 1)
	editTF(t, tf, "aws_iam_role_policy.two", c, want)

	// A literal string whose statement is one object is rewritten whole,
	// as one line of compact JSON with IAM policy variables escaped.
	tf = `resource "aws_iam_role_policy" "two" {
  policy = "{\"Version\":\"2012-10-17\",\"Statement\":{\"Sid\":\"Read\",\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\",\"s3:ListBucket\",\"s3:DeleteBucket\"],\"Resource\":\"arn:aws:s3:::b/$${aws:username}/*\"}}"
}
`
	before := `{"Version":"2012-10-17","Statement":{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket","s3:DeleteBucket"],"Resource":"arn:aws:s3:::b/${aws:username}/*"}}`
	want = `resource "aws_iam_role_policy" "two" {
  policy = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Read\",\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\"],\"Resource\":\"arn:aws:s3:::b/$${aws:username}/*\"}]}"
}
`
	editTF(t, tf, "aws_iam_role_policy.two", change("two", "two", iamprune.PolicyInline, before, twoAfter), want)
}

const dynamicTF = `data "aws_iam_policy_document" "two" {
  statement {
    sid       = "Read"
    actions   = ["s3:GetObject", "s3:ListBucket", "s3:DeleteBucket"]
    resources = ["arn:aws:s3:::b/$${aws:username}/*"]
  }

  dynamic "statement" {
    for_each = [
      { sid = "Logs", actions = ["logs:PutLogEvents", "logs:DeleteLogGroup"] },
      { sid = "Admin", actions = ["s3:*"] },
    ]
    content {
      sid       = statement.value.sid
      actions   = statement.value["actions"]
      resources = ["*"]
    }
  }
}
`

func TestTerraformDynamicStatements(t *testing.T) {
	before := `{"Version":"2012-10-17","Statement":[
	  {"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket","s3:DeleteBucket"],"Resource":"arn:aws:s3:::b/${aws:username}/*"},
	  {"Sid":"Logs","Effect":"Allow","Action":["logs:PutLogEvents","logs:DeleteLogGroup"],"Resource":"*"},
	  {"Sid":"Admin","Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	after := `{"Version":"2012-10-17","Statement":[
	  {"Sid":"Read","Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/${aws:username}/*"},
	  {"Sid":"Logs","Effect":"Allow","Action":["logs:PutLogEvents"],"Resource":"*"}]}`
	c := change("two", "two", iamprune.PolicyManaged, before, after)
	// The dynamic block's statements are edited in its for_each list.
	want := strings.Replace(dynamicTF, `["s3:GetObject", "s3:ListBucket", "s3:DeleteBucket"]`, `["s3:GetObject"]`, 1)
	want = strings.Replace(want, `["logs:PutLogEvents", "logs:DeleteLogGroup"]`, `["logs:PutLogEvents"]`, 1)
	want = strings.Replace(want, "      { sid = \"Admin\", actions = [\"s3:*\"] },\n", "", 1)
	editTF(t, dynamicTF, "data.aws_iam_policy_document.two", c, want)

	// A map for_each: the element is found by its key.
	mapTF := strings.Replace(dynamicTF, `[
      { sid = "Logs", actions = ["logs:PutLogEvents", "logs:DeleteLogGroup"] },
      { sid = "Admin", actions = ["s3:*"] },
    ]`, `{
      Logs  = { sid = "Logs", actions = ["logs:PutLogEvents", "logs:DeleteLogGroup"] }
      Admin = { sid = "Admin", actions = ["s3:*"] }
    }`, 1)
	mapBefore := strings.Replace(before, `{"Sid":"Logs","Effect":"Allow","Action":["logs:PutLogEvents","logs:DeleteLogGroup"],"Resource":"*"},
	  {"Sid":"Admin","Effect":"Allow","Action":"s3:*","Resource":"*"}`, `{"Sid":"Admin","Effect":"Allow","Action":"s3:*","Resource":"*"},
	  {"Sid":"Logs","Effect":"Allow","Action":["logs:PutLogEvents","logs:DeleteLogGroup"],"Resource":"*"}`, 1) // a map iterates in key order
	want = strings.Replace(mapTF, `["s3:GetObject", "s3:ListBucket", "s3:DeleteBucket"]`, `["s3:GetObject"]`, 1)
	want = strings.Replace(want, `["logs:PutLogEvents", "logs:DeleteLogGroup"]`, `["logs:PutLogEvents"]`, 1)
	want = strings.Replace(want, "      Admin = { sid = \"Admin\", actions = [\"s3:*\"] }\n", "", 1)
	editTF(t, mapTF, "data.aws_iam_policy_document.two", change("two", "two", iamprune.PolicyManaged, mapBefore, after), want)
}

func TestTerraformDynamicStatementsRefused(t *testing.T) {
	before := `{"Version":"2012-10-17","Statement":[
	  {"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket","s3:DeleteBucket"],"Resource":"*"},
	  {"Sid":"Logs","Effect":"Allow","Action":["logs:PutLogEvents","logs:DeleteLogGroup"],"Resource":"*"}]}`
	after := `{"Version":"2012-10-17","Statement":[
	  {"Sid":"Read","Effect":"Allow","Action":["s3:GetObject"],"Resource":"*"},
	  {"Sid":"Logs","Effect":"Allow","Action":["logs:PutLogEvents"],"Resource":"*"}]}`
	c := change("two", "two", iamprune.PolicyManaged, before, after)
	tf := func(forEach, actions string) string {
		return `data "aws_iam_policy_document" "two" {
  statement {
    sid     = "Read"
    actions = ["s3:GetObject", "s3:ListBucket", "s3:DeleteBucket"]
  }
  dynamic "statement" {
    for_each = ` + forEach + `
    content {
      sid     = statement.key
      actions = ` + actions + `
    }
  }
}
`
	}
	for _, tc := range []struct{ name, src, want string }{
		{"for_each from a variable", tf("var.extra", "statement.value"), `the for_each of dynamic "statement" (line 6) is not a literal list or map`},
		{"actions shared by every element", tf(`{ Logs = "x" }`, `["logs:PutLogEvents", "logs:DeleteLogGroup"]`), `statement 2 comes from the dynamic "statement" block on line 6, and its actions are not statement.value.FIELD`},
		{"element not an object", tf(`{ Logs = ["logs:PutLogEvents", "logs:DeleteLogGroup"] }`, `statement.value.actions`), `its for_each element "Logs" is not an object with actions`},
	} {
		_, _, err := edit(t, "iam.tf", tc.src, "data.aws_iam_policy_document.two", c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestTerraformUnsupportedPolicyExpressions(t *testing.T) {
	reader := change("reader", "reader", iamprune.PolicyInline, readerBefore, readerAfter)
	for _, tc := range []struct{ name, expr, want string }{
		{"file", `file("reader.json")`, "policy = file(...) reads another file; map the policy to that file instead"},
		{"local", `local.reader`, "line 2: policy = … is not jsonencode({…}), a string or heredoc holding JSON"},
		{"jsonencode of a local", `jsonencode(local.reader)`, "jsonencode(...) must hold one object"},
		{"string not JSON", `"not json"`, "the policy string is not JSON"},
	} {
		src := "resource \"aws_iam_policy\" \"reader\" {\n  policy = " + tc.expr + "\n}\n"
		_, _, err := edit(t, "iam.tf", src, "aws_iam_policy.reader", reader)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, _, err := edit(t, "iam.tf", "resource \"aws_iam_policy\" \"reader\" {\n  policy = \n}\n", "aws_iam_policy.reader", reader); err == nil || !strings.Contains(err.Error(), "line 2:") {
		t.Errorf("syntax error: %v", err)
	}
}
