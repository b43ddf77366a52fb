"""What every Kubernetes object we read has: apiVersion, kind, metadata."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: The API group and versions the webhook checks.
ISTIO_NETWORKING_GROUP = "networking.istio.io"
ISTIO_NETWORKING_VERSIONS = ("v1", "v1beta1", "v1alpha3")
#: RequestAuthentication's group and served versions (istio/api security).
ISTIO_SECURITY_GROUP = "security.istio.io"
ISTIO_SECURITY_VERSIONS = ("v1", "v1beta1")
#: WasmPlugin's and TrafficExtension's group and served version (istio/api extensions).
ISTIO_EXTENSIONS_GROUP = "extensions.istio.io"
ISTIO_EXTENSIONS_VERSIONS = ("v1alpha1",)


class IstioSpec(BaseModel):
    """Spec fields are closed: a field we do not know could route traffic we cannot see.

    The API server prunes fields its CRD schema does not know, so an unknown field only
    reaches us from a newer Istio or from a manifest checked offline; both are refused
    with the field's path rather than passed unchecked.
    """

    # Aliases only: the API server knows spec fields by their camelCase JSON names and
    # prunes snake_case spellings, so accepting them offline would judge a different object.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


class ObjectMeta(BaseModel):
    """The parts of metadata the engine reads; the rest is ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = ""
    generate_name: str = Field(default="", alias="generateName")
    namespace: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    @field_validator("labels", "annotations", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        # Helm charts render an empty `annotations:` key (Kiali's and Loki's Services in
        # istio/istio samples/addons): YAML null. ObjectMeta.Labels and .Annotations are
        # Go maps (k8s.io/apimachinery meta/v1 types.go), which encoding/json decodes from
        # null as nil, and the API server stores and sends no key at all: null is "none".
        return {} if value is None else value


def any_field() -> Any:
    """A field whose content does not change where traffic goes (retries, CORS, ...)."""
    return Field(default=None)
