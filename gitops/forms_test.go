package gitops

import (
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
)

// edit runs one change against one file's content.
func edit(t *testing.T, path, src, pointer string, c iamprune.PolicyChange) (string, string, error) {
	t.Helper()
	fc := FileChange{Path: path, change: c}
	out, err := editContent(&fc, []byte(src), pointer)
	return string(out), fc.Status, err
}

const (
	notActionBefore = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*"],"Resource":"*"}]}`
	notActionAfter  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","sqs:SendMessage"],"Resource":"*"}]}`
)

func TestFormsNotActionBecomesAction(t *testing.T) {
	c := change("p", "p", iamprune.PolicyInline, notActionBefore, notActionAfter)
	tf := `data "aws_iam_policy_document" "p" {
  statement {
    not_actions = ["iam:*", "organizations:*"]
    resources   = ["*"]
  }
}
`
	out, status, err := edit(t, "x.tf", tf, "data.aws_iam_policy_document.p", c)
	want := strings.Replace(tf, `not_actions = ["iam:*", "organizations:*"]`, `actions = ["s3:GetObject", "sqs:SendMessage"]`, 1)
	if err != nil || status != StatusWritten || out != want {
		t.Errorf("terraform: %v %s\n%s", err, status, out)
	}

	yml := `Resources:
  P:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: p
      Roles: [!Ref R]
      PolicyDocument:
        Version: 2012-10-17
        Statement:
        - Effect: Allow
          NotAction:
          - iam:*
          - organizations:*
          Resource: '*'
`
	out, _, err = edit(t, "t.yml", yml, "P", c)
	want = strings.Replace(yml, "          NotAction:\n          - iam:*\n          - organizations:*\n", "          Action:\n          - s3:GetObject\n          - sqs:SendMessage\n", 1)
	if err != nil || out != want {
		t.Errorf("yaml: %v\n%s", err, out)
	}

	js := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}]}`
	out, _, err = edit(t, "p.json", js, "", c)
	want = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "sqs:SendMessage"], "Resource": "*"}]}`
	if err != nil || out != want {
		t.Errorf("json: %v\n%s", err, out)
	}
}

func TestFormsAlreadyRefined(t *testing.T) {
	c := change("reader", "reader", iamprune.PolicyInline, readerBefore, readerAfter)
	once, _, err := edit(t, "p.json", fixJSONPolicy, "", c)
	if err != nil {
		t.Fatal(err)
	}
	twice, status, err := edit(t, "p.json", once, "", c)
	if err != nil || status != StatusUnchanged || twice != once {
		t.Fatalf("second edit: %v %s", err, status)
	}
	// The same holds where references stop a literal comparison.
	app := change(managedARN("app-data"), "app-data", iamprune.PolicyManaged, appBefore, appAfter)
	once, _, err = edit(t, "cfn/app.yaml", fixCFNYAML, "AppPolicy", app)
	if err != nil {
		t.Fatal(err)
	}
	if _, status, err := edit(t, "cfn/app.yaml", once, "AppPolicy", app); err != nil || status != StatusUnchanged {
		t.Fatalf("yaml second edit: %v %s", err, status)
	}
	sync := change(managedARN("sync"), "sync", iamprune.PolicyManaged, syncBefore, syncAfter)
	once, _, err = edit(t, "iam.tf", fixTF, "data.aws_iam_policy_document.sync", sync)
	if err != nil {
		t.Fatal(err)
	}
	if _, status, err := edit(t, "iam.tf", once, "data.aws_iam_policy_document.sync", sync); err != nil || status != StatusUnchanged {
		t.Fatalf("terraform second edit: %v %s", err, status)
	}
}

func TestFormsWholeReplacement(t *testing.T) {
	// A flow-style YAML policy cannot be edited statement by statement; it
	// is literal, so it is rewritten as block YAML at its indentation.
	yml := "Resources:\n  P:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      PolicyDocument: {Version: '2012-10-17', Statement: {Effect: Allow, Action: ['s3:GetObject', 's3:ListBucket', 's3:DeleteBucket'], Resource: '*', Sid: Read}}\n      Roles: [!Ref R]\n"
	c := change("arn", "P", iamprune.PolicyManaged, readerBefore, readerAfter)
	out, _, err := edit(t, "t.yaml", yml, "P", c)
	want := `Resources:
  P:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: Read
            Effect: Allow
            Action:
              - s3:GetObject
              - s3:ListBucket
            Resource: '*'
      Roles: [!Ref R]
`
	if err != nil || out != want {
		t.Errorf("yaml: %v\n%s", err, out)
	}

	// jsonencode is rewritten whole, in terraform fmt's layout, with IAM
	// policy variables escaped.
	tf := `resource "aws_iam_user_policy" "u" {
  user   = "u"
  policy = jsonencode({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::b/$${aws:username}/*" }] })
}
`
	before := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::b/${aws:username}/*"}]}`
	after := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/${aws:username}/*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`
	out, _, err = edit(t, "u.tf", tf, "", change("u", "u", iamprune.PolicyInline, before, after))
	want = `resource "aws_iam_user_policy" "u" {
  user   = "u"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = "arn:aws:s3:::b/$${aws:username}/*"
        Condition = {
          Bool = {
            "aws:SecureTransport" = "true"
          }
        }
      },
    ]
  })
}
`
	if err != nil || out != want {
		t.Errorf("jsonencode: %v\n%s", err, out)
	}
}

func TestFormsJSONPointer(t *testing.T) {
	src := `{
  "policies": {
    "reader": {"Version": "2012-10-17", "Statement": {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket", "s3:DeleteBucket"], "Resource": "*"}},
    "other": {"keep": true}
  }
}
`
	out, _, err := edit(t, "all.json", src, "/policies/reader", change("reader", "reader", iamprune.PolicyInline, readerBefore, readerAfter))
	// One statement written as an object cannot be edited in place: the
	// document is rewritten, indented where it stands.
	want := `{
  "policies": {
    "reader": {
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "Read",
          "Effect": "Allow",
          "Action": [
            "s3:GetObject",
            "s3:ListBucket"
          ],
          "Resource": "*"
        }
      ]
    },
    "other": {"keep": true}
  }
}
`
	if err != nil || out != want {
		t.Errorf("%v\n%s", err, out)
	}
}

func TestFormsErrors(t *testing.T) {
	reader := change("reader", "reader", iamprune.PolicyInline, readerBefore, readerAfter)
	for _, tc := range []struct {
		name, path, src, pointer, want string
	}{
		{"json pointer miss", "p.json", fixJSONPolicy, "/nope", `JSON pointer "/nope": no key "nope"`},
		{"logical id in plain json", "p.json", fixJSONPolicy, "Reader", "pointer must be a JSON pointer"},
		{"yaml role without the policy", "cfn/app.yaml", fixCFNYAML, "AppRole", `resource "AppRole" (AWS::IAM::Role) has no Properties.Policies entry with PolicyName "reader"`},
		{"yaml resource of another type", "cfn/app.yaml", fixCFNYAML, "Bucket", `resource "Bucket" is "AWS::S3::Bucket"`},
		{"yaml name search", "cfn/app.yaml", fixCFNYAML, "", `no policy named "reader" in the template`},
		{"terraform missing block", "iam.tf", fixTF, "aws_iam_policy.nope", `no block resource "aws_iam_policy" "nope"`},
		{"terraform bad address", "iam.tf", fixTF, "module.x.y.z", `pointer "module.x.y.z" is not TYPE.NAME`},
		{"terraform action from a variable in jsonencode", "r.tf", `resource "aws_iam_policy" "reader" {
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Sid = "Read", Effect = "Allow", Action = var.reader_actions, Resource = aws_s3_bucket.b.arn }]
  })
}
`, "aws_iam_policy.reader", "line 4: the Action of statement 1 is an expression (var.reader_actions)"},
		{"terraform merged documents", "d.tf", `data "aws_iam_policy_document" "reader" {
  source_policy_documents = [data.aws_iam_policy_document.base.json]
  statement {
    actions = ["s3:GetObject"]
  }
}
`, "data.aws_iam_policy_document.reader", "merges other documents"},
		{"statement count differs", "d.tf", `data "aws_iam_policy_document" "reader" {
  statement {
    sid     = "Read"
    actions = ["s3:GetObject", "s3:ListBucket", "s3:DeleteBucket"]
  }
  statement {
    actions = ["sqs:*"]
  }
}
`, "data.aws_iam_policy_document.reader", "do not correspond to the live policy"},
		{"unsupported file", "p.txt", "x", "", `unsupported file type ".txt"`},
		{"heredoc not json", "h.tf", "resource \"aws_iam_policy\" \"reader\" {\n  policy = <<EOF\nnot json\nEOF\n}\n", "aws_iam_policy.reader", "heredoc policy is not JSON"},
	} {
		_, _, err := edit(t, tc.path, tc.src, tc.pointer, reader)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestFormsTerraformHeredocWithInterpolation(t *testing.T) {
	// ${var.bucket} is Terraform's; the statement is edited in place so it
	// stays, while $${aws:username} stays escaped.
	tf := "resource \"aws_iam_role_policy\" \"reader\" {\n  policy = <<-EOT\n    {\"Version\": \"2012-10-17\", \"Statement\": [\n      {\"Sid\": \"Read\", \"Effect\": \"Allow\", \"Action\": [\"s3:GetObject\", \"s3:ListBucket\", \"s3:DeleteBucket\"], \"Resource\": \"arn:aws:s3:::${var.bucket}/$${aws:username}\"}\n    ]}\n  EOT\n}\n"
	before := `{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket","s3:DeleteBucket"],"Resource":"arn:aws:s3:::b/${aws:username}"}]}`
	after := `{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/${aws:username}"}]}`
	out, _, err := edit(t, "r.tf", tf, "aws_iam_role_policy.reader", change("reader", "reader", iamprune.PolicyInline, before, after))
	want := strings.Replace(tf, `["s3:GetObject", "s3:ListBucket", "s3:DeleteBucket"]`, `["s3:GetObject"]`, 1)
	if err != nil || out != want {
		t.Errorf("%v\n%s", err, out)
	}
}

func TestHasInterpolation(t *testing.T) {
	for s, want := range map[string]bool{
		"plain": false, "${var.x}": true, "$${aws:username}": false, "a%{ if x }": true, "%%{x}": false,
	} {
		if hasInterpolation(s) != want {
			t.Errorf("%q: %v", s, !want)
		}
	}
}
