package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/catalog"
	"github.com/iamprune/iamprune/config"
	"github.com/iamprune/iamprune/exceptions"
)

// Inputs is everything a decision needs besides the finding and fact
// sources: the config, the exceptions the gate accepts, and the time the
// run is evaluated at.
type Inputs struct {
	// ConfigPath is where the config was read from (a path or
	// s3://bucket/key), "" for the defaults or inline YAML.
	ConfigPath string
	Config     iamprune.Config
	Exceptions []iamprune.Exception
	Now        time.Time
	// Warnings name the exception entries the gate refused, which the plan
	// ignores.
	Warnings []iamprune.Warning
}

// InputOptions says where LoadInputs reads from, and what it may use.
type InputOptions struct {
	// ConfigPath is the config file, a path or s3://bucket/key; "" reads
	// $IAMPRUNE_CONFIG, else uses the built-in defaults.
	ConfigPath string
	// ConfigYAML is a config given inline (the Lambda function's
	// IAMPRUNE_CONFIG_YAML), named ConfigYAMLName in messages; it is used
	// when no config path is given.
	ConfigYAML, ConfigYAMLName string
	// Exceptions overrides the config's exceptions file (a path or s3://).
	Exceptions string
	// Now is the time the run is evaluated at; zero means Clock().
	Now time.Time

	Getenv func(string) string
	Clock  func() time.Time
	Logger *slog.Logger
	// Objects reads s3:// configs and exception lists; called on first use.
	Objects func(context.Context) (*awsapi.S3Object, error)
	// Remote, when set, loads s3:// exception lists with its cache (warm
	// Lambda invocations); else one is made from Objects.
	Remote *exceptions.Remote
	// ConfigureAWS, when set, receives the config's aws block as soon as
	// it is read, before any AWS call of the run.
	ConfigureAWS func(iamprune.AWS)
}

// LoadInputs reads the config, its exceptions (gated: an entry 'exceptions
// check' would refuse is dropped with a warning) and the clock. Paths in
// the config are relative to it (config.Resolve).
func LoadInputs(ctx context.Context, o InputOptions) (Inputs, error) {
	now := o.Now
	if now.IsZero() {
		now = o.Clock()
	}
	now = now.UTC()
	cfg, path, err := LoadConfig(ctx, o)
	if err != nil {
		return Inputs{}, err
	}
	cfg.Propose.Repo = config.Resolve(path, cfg.Propose.Repo)
	excPath := o.Exceptions
	if excPath == "" {
		excPath = config.Resolve(path, cfg.Exceptions)
	}
	excs, err := loadExceptions(ctx, excPath, o)
	if err != nil {
		return Inputs{}, err
	}
	excs, warnings := gateExceptions(excs, cfg, now, o.Logger)
	return Inputs{ConfigPath: path, Config: cfg, Exceptions: excs, Now: now, Warnings: warnings}, nil
}

// LoadConfig reads the config alone, as LoadInputs does: from
// o.ConfigPath, else $IAMPRUNE_CONFIG, else o.ConfigYAML, else the
// defaults. It returns the config and the path it was read from, and gives
// its aws block to o.ConfigureAWS.
func LoadConfig(ctx context.Context, o InputOptions) (iamprune.Config, string, error) {
	path := o.ConfigPath
	if path == "" && o.Getenv != nil {
		path = o.Getenv("IAMPRUNE_CONFIG")
	}
	cfg, err := loadConfig(ctx, path, o)
	if err != nil {
		return cfg, path, err
	}
	if o.ConfigureAWS != nil {
		o.ConfigureAWS(cfg.AWS)
	}
	return cfg, path, nil
}

// loadConfig reads the config at path (a file or s3://), else the inline
// YAML, else returns the defaults.
func loadConfig(ctx context.Context, path string, o InputOptions) (iamprune.Config, error) {
	switch {
	case strings.HasPrefix(path, "s3://"):
		bucket, key, err := awsapi.ParseS3URL(path)
		if err != nil {
			return iamprune.Config{}, err
		}
		objects, err := s3Objects(ctx, o)
		if err != nil {
			return iamprune.Config{}, err
		}
		body, _, _, err := objects.Get(ctx, bucket, key, "")
		if iamprune.ErrorCode(err) == iamprune.ENOTFOUND {
			return iamprune.Config{}, iamprune.Errorf(iamprune.EINVALID, "config file %s does not exist", path)
		}
		if err != nil {
			return iamprune.Config{}, fmt.Errorf("app: reading config %s: %w", path, err)
		}
		return config.Parse(body, path)
	case path != "":
		return config.Load(path)
	case o.ConfigYAML != "":
		return config.Parse([]byte(o.ConfigYAML), o.ConfigYAMLName)
	}
	return iamprune.DefaultConfig(), nil
}

func loadExceptions(ctx context.Context, path string, o InputOptions) ([]iamprune.Exception, error) {
	switch {
	case strings.HasPrefix(path, "s3://"):
		// The list the exceptions-sync pipeline publishes.
		l := o.Remote
		if l == nil {
			objects, err := s3Objects(ctx, o)
			if err != nil {
				return nil, err
			}
			l = exceptions.NewRemote(awsapi.NewCachedObjects(objects))
		}
		return l.Load(ctx, path)
	case path != "":
		return exceptions.Load(path)
	}
	return nil, nil
}

func s3Objects(ctx context.Context, o InputOptions) (*awsapi.S3Object, error) {
	if o.Objects == nil {
		return nil, fmt.Errorf("app: no AWS configuration to read S3 objects with")
	}
	return o.Objects(ctx)
}

// gateExceptions keeps the exception entries that 'exceptions check' would
// accept on their own, so that plan and apply never honour an entry the
// gate refuses (no expiry, an expiry years ahead, role/* in a .txt file):
// each refused entry is ignored with a warning naming its file and line.
func gateExceptions(excs []iamprune.Exception, cfg iamprune.Config, now time.Time, log *slog.Logger) ([]iamprune.Exception, []iamprune.Warning) {
	kept, refused := exceptions.Gate(excs, exceptions.CheckOptions{Now: now, MaxDays: cfg.ExceptionPolicy.MaxDays, KnownService: catalog.IsService})
	var warnings []iamprune.Warning
	for _, p := range refused {
		w := iamprune.Warning{Source: "exceptions", Message: p.String() + " (the entry is ignored: 'iamprune exceptions check' refuses it)"}
		logger(log).Warn("exception entry ignored: "+p.Message, "file", p.File, "line", p.Line, "field", p.Field)
		warnings = append(warnings, w)
	}
	return kept, warnings
}

// logger returns l, or a logger that discards when there is none.
func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
