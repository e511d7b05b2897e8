package main

import (
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	integrations "github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/jsii-runtime-go"
)

// consoleRoutes serve the manager console's pages (DESIGN.md §12).
var consoleRoutes = []string{"/console", "/console/{proxy+}"}

// console serves the manager console from the API function at
// <API>/console and lets it sign managers in: its address is a callback
// and sign-out URL of the app client (authorization code with PKCE), and
// the function is told the managed login's domain and the client id,
// which the pages read from /console/config.json.
//
// The pages are public files; every API call they make carries the
// signed-in manager's token through the authorizer like any other.
func (s *Stack) console() {
	// Without the slash: see console.Path.
	url := *s.stage.Url() + "console"
	client := s.client.Node().DefaultChild().(awscognito.CfnUserPoolClient)
	client.SetCallbackUrLs(jsii.Strings(append(slices.Clone(s.cfg.CallbackURLs), url)...))
	client.SetLogoutUrLs(jsii.Strings(append(slices.Clone(s.cfg.LogoutURLs), url)...))

	api := s.Functions["api"]
	api.AddEnvironment(jsii.String("OPSOS_CONSOLE_COGNITO_DOMAIN"), s.loginDomain.BaseUrl(nil), nil)
	api.AddEnvironment(jsii.String("OPSOS_CONSOLE_CLIENT_ID"), s.client.UserPoolClientId(), nil)

	pages := integrations.NewHttpLambdaIntegration(jsii.String("ConsoleIntegration"), api, nil)
	s.publicRoutes(pages, awsapigatewayv2.HttpMethod_GET, consoleRoutes,
		"The console's pages are public static files (a browser cannot send a token to load the page that signs it in); every API call they make carries the manager's Cognito token through the authorizer.",
		"The console's static pages need no Cognito authorizer; the API routes they call have it.")
	awscdk.NewCfnOutput(s.Stack, jsii.String("ConsoleUrl"), &awscdk.CfnOutputProps{
		Value: jsii.String(url), Description: jsii.String("The manager console (Settings → Users); managers sign in with Cognito managed login"),
	})
}
