#!/usr/bin/env bash
# The end-to-end tests drive the real app in tmux (and over a real sshd). Install them when
# missing and we are allowed to (root with apt); otherwise those tests skip with a reason.
set -uo pipefail
need=()
command -v tmux >/dev/null || need+=(tmux)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing test tools: ${need[*]}" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/dev/null 2>&1 \
        || echo "warning: could not install ${need[*]}; end-to-end tests that need them will skip" >&2
fi
exit 0
