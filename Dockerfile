# The egress-webhook admission server.
#
#   docker build -t egress-webhook .
#   docker run --read-only --user 65532:65532 -p 8443:8443 \
#     -v "$PWD/examples:/etc/egress-webhook/policy:ro" -v "$PWD/certs:/etc/egress-webhook/tls:ro" \
#     egress-webhook serve --policy /etc/egress-webhook/policy/policy.yaml
#
# Dependencies come from constraints.txt (exact versions of the whole tree, the build
# backend and pip). tests/packaging/test_dockerfile.py runs the same install steps into a
# fresh venv and starts the entry point, since CI has no Docker engine to build this.

# Python minor version of the development venv; pin the digest too when you publish.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# ---- build: the package and its pinned dependencies in a self-contained venv ----------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY constraints.txt ./
RUN python -m venv /opt/egress-webhook \
 && /opt/egress-webhook/bin/pip install --no-cache-dir --constraint constraints.txt pip
COPY pyproject.toml README.md ./
COPY webhook ./webhook
# pip compiles every module to bytecode here, so nothing is written at run time.
RUN /opt/egress-webhook/bin/pip install --no-cache-dir --constraint constraints.txt --build-constraint constraints.txt . \
 && /opt/egress-webhook/bin/pip uninstall --yes pip setuptools

# ---- runtime: the interpreter, the venv, a fixed non-root user; no installers ----------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="egress-webhook" \
      org.opencontainers.image.description="Validating admission webhook for Istio egress (ServiceEntry, VirtualService)" \
      org.opencontainers.image.licenses="Apache-2.0"
# The server needs neither pip nor setuptools; the fixed UID matches the chart's
# runAsUser, so file permissions on mounted Secrets line up.
RUN python -m pip uninstall --yes --no-cache-dir pip setuptools wheel \
 && groupadd --system --gid 65532 egress-webhook \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin egress-webhook
COPY --from=build /opt/egress-webhook /opt/egress-webhook
ENV PATH=/opt/egress-webhook/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    EGRESS_WEBHOOK_POLICY=/etc/egress-webhook/policy/policy.yaml \
    EGRESS_WEBHOOK_TLS_CERT=/etc/egress-webhook/tls/tls.crt \
    EGRESS_WEBHOOK_TLS_KEY=/etc/egress-webhook/tls/tls.key \
    EGRESS_WEBHOOK_PORT=8443
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["egress-webhook"]
CMD ["serve"]
