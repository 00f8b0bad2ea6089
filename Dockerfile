# One image for every process of the demo stack (docker-compose.yml): the hub's commands
# (`lienthong serve|worker|relay|axis poll|db upgrade`) and the simulators (`lienthong-sim
# axis|setup|agencies|scenario`). Python 3.11, installed from this source tree, run as an
# unprivileged user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 lienthong \
    && mkdir -p /var/lib/lienthong/blobs /state \
    && chown -R lienthong:lienthong /var/lib/lienthong /state

WORKDIR /src
COPY pyproject.toml README.md requirements-runtime.lock ./
COPY edxml edxml
COPY schemas schemas
COPY hub hub
COPY adapters adapters
COPY simulators simulators
# The locked versions (hashes checked), then the project built with the locked setuptools.
RUN pip install --require-hashes --no-deps -r requirements-runtime.lock \
    && pip install --no-deps --no-build-isolation . && rm -rf /src

USER lienthong
WORKDIR /home/lienthong
EXPOSE 8080 8090
CMD ["lienthong", "--help"]
