#!/usr/bin/env python3
"""Prepare a freshly started moto server for the S3 tests.

Usage: moto_setup.py ENDPOINT BUCKET

scripts/start-moto runs this right after moto starts. moto lets the first
INITIAL_NO_AUTH_ACTION_COUNT requests through without checking who sent them;
this script uses exactly those requests (four of them) to create an IAM
user that may do anything in S3, an access key for it, and the bucket. From
then on moto checks the SigV4 signature of every request against that key.

It then checks that auth really is on, and prints two shell lines on stdout:
    export MOTO_ACCESS_KEY_ID=...
    export MOTO_SECRET_ACCESS_KEY=...
Everything else goes to stderr. It exits non-zero if any step fails.
"""

import json
import shlex
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

REGION = "us-east-1"  # moto's default; other regions would need a LocationConstraint
USER = "release-phase-tests"

# Inline user policy. moto does not load AWS managed policies such as
# AmazonS3FullAccess unless MOTO_IAM_LOAD_MANAGED_POLICIES=true, so an inline
# policy is the simplest way to give the user S3 rights.
S3_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}


def client(service, endpoint, key_id, secret):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        # No retries: a retried request would use up one of the free requests.
        # Path-style URLs: the bucket name goes in the path, not the host name.
        config=Config(
            retries={"total_max_attempts": 1},
            s3={"addressing_style": "path"},
        ),
    )


def main():
    endpoint, bucket = sys.argv[1], sys.argv[2]

    # While auth is still off, moto accepts any key; these are placeholders.
    iam = client("iam", endpoint, "setup", "setup")
    s3 = client("s3", endpoint, "setup", "setup")

    # The 4 requests that moto lets through unchecked. start-moto sets
    # INITIAL_NO_AUTH_ACTION_COUNT=4 to match: keep the two in step.
    iam.create_user(UserName=USER)  # 1
    iam.put_user_policy(  # 2
        UserName=USER, PolicyName="s3-all", PolicyDocument=json.dumps(S3_ALL)
    )
    key = iam.create_access_key(UserName=USER)["AccessKey"]  # 3
    s3.create_bucket(Bucket=bucket)  # 4

    key_id, secret = key["AccessKeyId"], key["SecretAccessKey"]

    # Auth must now be on: the new key works and the placeholder key does not.
    client("s3", endpoint, key_id, secret).head_bucket(Bucket=bucket)
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as e:
        status = e.response["ResponseMetadata"]["HTTPStatusCode"]
        if status != 403:
            sys.exit(f"moto_setup: expected 403 for an unknown key, got {status}")
    else:
        sys.exit("moto_setup: moto accepted an unknown key: auth is not enforced")

    # Quoted for the shell, in case a secret ever holds a special character.
    print(f"export MOTO_ACCESS_KEY_ID={shlex.quote(key_id)}")
    print(f"export MOTO_SECRET_ACCESS_KEY={shlex.quote(secret)}")


if __name__ == "__main__":
    try:
        main()
    except ClientError as e:
        sys.exit(f"moto_setup: {e}")
