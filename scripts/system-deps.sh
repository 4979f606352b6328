#!/usr/bin/env bash
# The end-to-end tests drive the real app in tmux (and over a real sshd); the agent's Python tool
# needs bubblewrap (without it the tool refuses to run and the hostile-program suite skips).
# Run as root, the sandbox runs the system's /usr/bin/python3, which needs matplotlib, numpy and
# Pillow for plots (Debian's packages). Install them when missing and we are allowed to (root
# with apt); otherwise those tests skip.
set -uo pipefail
need=()
command -v tmux >/dev/null || need+=(tmux)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v bwrap >/dev/null || need+=(bubblewrap)
if [ "$(id -u)" = 0 ] && ! /usr/bin/python3 -c "import matplotlib, numpy, PIL" >/dev/null 2>&1; then
    need+=(python3-matplotlib python3-numpy python3-pil)
fi
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing test tools: ${need[*]}" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}") >/dev/null 2>&1 \
        || echo "warning: could not install ${need[*]}; end-to-end tests that need them will skip" >&2
fi
exit 0
