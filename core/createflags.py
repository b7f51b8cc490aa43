"""The create options every driver shares (engine, swarm, TLS), as docker-machine v0.16.2 declares them."""

from __future__ import annotations

from .flags import Flag
from .hostconfig import DEFAULT_INSTALL_URL, DEFAULT_SWARM_HOST, DEFAULT_SWARM_IMAGE

L, B = "list", "bool"

COMMON_CREATE_FLAGS = [
    Flag("engine-env", "Specify environment variables to set in the engine", L, [], advanced=True),
    Flag("engine-insecure-registry", "Specify insecure registries to allow with the created engine", L, [],
         advanced=True),
    Flag("engine-install-url", "Custom URL to use for engine installation", default=DEFAULT_INSTALL_URL,
         env="MACHINE_DOCKER_INSTALL_URL", advanced=True),
    Flag("engine-label", "Specify labels for the created engine", L, [], advanced=True),
    Flag("engine-opt", "Specify arbitrary flags to include with the created engine in the form flag=value", L, [],
         advanced=True),
    Flag("engine-registry-mirror", "Specify registry mirrors to use", L, [], env="ENGINE_REGISTRY_MIRROR",
         advanced=True),
    Flag("engine-storage-driver", "Specify a storage driver to use with the engine", advanced=True),
    Flag("swarm", "Configure Machine to join a Swarm cluster", B, False, advanced=True),
    Flag("swarm-addr", "addr to advertise for Swarm (default: detect and use the machine IP)", advanced=True),
    Flag("swarm-discovery", "Discovery service to use with Swarm", advanced=True),
    Flag("swarm-experimental", "Enable Swarm experimental features", B, False, advanced=True),
    Flag("swarm-host", "ip/socket to listen on for Swarm master", default=DEFAULT_SWARM_HOST, advanced=True),
    Flag("swarm-image", "Specify Docker image to use for Swarm", default=DEFAULT_SWARM_IMAGE,
         env="MACHINE_SWARM_IMAGE", advanced=True),
    Flag("swarm-join-opt", "Define arbitrary flags for Swarm join", L, [], advanced=True),
    Flag("swarm-master", "Configure Machine to be a Swarm master", B, False, advanced=True),
    Flag("swarm-opt", "Define arbitrary flags for Swarm master", L, [], advanced=True),
    Flag("swarm-strategy", "Define a default scheduling strategy for Swarm", default="spread", advanced=True),
    Flag("tls-san", "Support extra SANs for TLS certs", L, [], advanced=True),
]

# machine-tui's own create options (beyond docker-machine)
EXTRA_CREATE_FLAGS = [
    Flag("no-docker-context", "Do not create a docker context named after the machine", B, False,
         "MACHINE_NO_DOCKER_CONTEXT", advanced=True),
    Flag("count", "Create N machines named after the one name given: web -> web1, web2... (machine-tui)", "int", 0,
         bounds=(0, 1000), advanced=True),
    Flag("batch", "Create every machine named, a batch: create --batch web db cache (machine-tui)", B, False,
         advanced=True),
    Flag("parallel", "How many machines of a batch to create at once (machine-tui)", "int", 4, bounds=(1, 100),
         advanced=True),
]
SWARM_MODE_FLAGS = [
    Flag("swarm-mode", "Make the machine a Swarm-mode manager or worker once it is up: manager or worker "
         "(machine-tui)", advanced=True),
    Flag("swarm-mode-join", "The manager whose swarm the machine joins (with --swarm-mode worker, or manager to add "
         "a manager) (machine-tui)", advanced=True),
]
EXTRA_CREATE_FLAGS += SWARM_MODE_FLAGS
BATCH_FLAGS = ("count", "batch", "parallel")  # how many machines, not how each is made


def create_flags(driver_flags: list[Flag]) -> list[Flag]:
    """Shared + driver flags sorted by name, as docker-machine lists them (driver first)."""
    driver_flag = Flag("driver", "Driver to create machine with.", default="virtualbox", env="MACHINE_DRIVER")
    return [driver_flag] + sorted(COMMON_CREATE_FLAGS + list(driver_flags) + EXTRA_CREATE_FLAGS,
                                  key=lambda f: f.name)
