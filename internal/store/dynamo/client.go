package dynamo

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Local credentials and region for DynamoDB Local, which keeps data per
// access key and region and accepts only letters and digits in the key.
const (
	localAccessKey = "opsoslocal"
	localRegion    = "us-east-1"
)

// LocalConfig is the AWS configuration of DynamoDB Local at endpoint.
func LocalConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       localRegion,
		Credentials:  credentials.NewStaticCredentialsProvider(localAccessKey, "local", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// NewLocalClient returns a client of DynamoDB Local at endpoint.
func NewLocalClient(endpoint string) *dynamodb.Client {
	return dynamodb.NewFromConfig(LocalConfig(endpoint))
}
