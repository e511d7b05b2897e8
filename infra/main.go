// Command infra is the AWS CDK app that deploys OpsOS: `cdk.json` runs it
// (`go run ./infra`). `make build` must have compiled the functions first.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	// jsii runs the CDK in Node; Node 20 works, so spare the banner.
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	cfg, err := ConfigFrom(func(key, env string) string {
		if v, ok := app.Node().TryGetContext(jsii.String(key)).(string); ok && v != "" {
			return v
		}
		if env == "" {
			return ""
		}
		return os.Getenv(env)
	})
	if err == nil {
		err = cfg.CheckBuild()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "opsos infra:", err)
		os.Exit(1)
	}
	props := &awscdk.StackProps{Description: jsii.String("OpsOS user onboarding: API, Slack, release worker, user pool and table")}
	// The CLI tells the account and region it deploys to; without them
	// (an offline synth) the stack is environment-agnostic.
	if account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION"); account != "" && region != "" {
		props.Env = &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)}
	}
	NewStack(app, cfg, props)
	app.Synth(nil)
}
