"""The declarative bootstrap file: ``load_bootstrap`` (read and validate, whole or not at all) and
``apply_bootstrap`` (bring the store in line with it, idempotently, in one transaction).

Shape (CloudFormation property names, every list optional)::

    Accounts:
      - AccountId: "123456789010"
        RootAccessKeys: [{AccessKeyId, SecretAccessKey}]      # else generated at first start
        ServiceControlPolicies: [<policy document>]
        Users: [{UserName, Path, Groups, ManagedPolicyArns, Policies: [{PolicyName, PolicyDocument}],
                 PermissionsBoundary, Tags: [{Key, Value}], AccessKeys: [{AccessKeyId, SecretAccessKey}]}]
        Groups: [{GroupName, Path, ManagedPolicyArns, Policies}]
        Roles: [{RoleName, Path, AssumeRolePolicyDocument, ManagedPolicyArns, Policies,
                 MaxSessionDuration, PermissionsBoundary, Description, Tags}]
        ManagedPolicies: [{ManagedPolicyName, Path, PolicyDocument, Description}]
        InstanceProfiles: [{InstanceProfileName, Path, Roles}]
        Buckets: [{BucketName, PolicyDocument, Objects: [{Key, Body}]}]
        Instances: [{InstanceId, IamInstanceProfile, Tags, MetadataOptions: {HttpTokens}, Region,
                     AvailabilityZone}]
        Tasks: [{TaskRoleArn, AuthorizationToken}]

Policy documents are YAML mappings or JSON strings.
"""

from monban.config.apply import apply_bootstrap
from monban.config.load import load_bootstrap, parse_bootstrap
from monban.config.model import Bootstrap, BootstrapError

__all__ = ["Bootstrap", "BootstrapError", "apply_bootstrap", "load_bootstrap", "parse_bootstrap"]
