"""The AWS account a stage runs in: region, account and the EKS OIDC provider for IRSA."""

from __future__ import annotations

import re

from pydantic import Field, model_validator

from .types import Section

_REGION_RE = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
_OIDC_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):oidc-provider/(.+)$")


class AwsConfig(Section):
    """Where a stage's cloud resources live; absent for stages without AWS (local)."""

    region: str = Field(pattern=_REGION_RE, description="AWS region, e.g. 'eu-west-1'")
    account_id: str = Field(pattern=r"^\d{12}$", description="12-digit AWS account id")
    eks_oidc_provider_arn: str = Field(
        description="ARN of the cluster's IAM OIDC provider, "
        "'arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<ID>'"
    )

    @model_validator(mode="after")
    def _provider_in_account(self) -> "AwsConfig":
        match = _OIDC_ARN_RE.match(self.eks_oidc_provider_arn)
        if not match:
            raise ValueError(
                f"eksOidcProviderArn must look like 'arn:aws:iam::<account>:oidc-provider/<issuer host/path>', "
                f"got {self.eks_oidc_provider_arn!r}"
            )
        if match[1] != self.account_id:
            raise ValueError(f"eksOidcProviderArn is in account {match[1]}, not accountId {self.account_id}")
        return self

    @property
    def eks_oidc_issuer(self) -> str:
        """The issuer host and path (no scheme), as IAM condition keys spell it."""
        return _OIDC_ARN_RE.match(self.eks_oidc_provider_arn)[2]
