#!/bin/sh
# /usr/local/bin/ccm, installed by CCM's install.sh or Ansible role: the active release's CLI
# with this host's settings, so `sudo ccm agent check` sees what the service sees.
# shellcheck disable=SC1091 # the env files exist only on the host
set -a
if [ -r /etc/ccm/hub.env ]; then . /etc/ccm/hub.env; fi
if [ -r /etc/ccm/agent.env ]; then . /etc/ccm/agent.env; fi
set +a
: "${CCM_AGENT_CONFIG:=/etc/ccm/agent.yaml}"
: "${CCM_STATE_DIR:=/var/lib/ccm}"
export CCM_AGENT_CONFIG CCM_STATE_DIR
exec /opt/ccm/current/bin/ccm "$@"
