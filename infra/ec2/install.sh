#!/usr/bin/env bash
# Installs the Sentimap producer as a hardened systemd service on an EC2 instance (Amazon Linux 2023
# or any systemd distribution). Run as root, from a directory holding the `sentimap` binary and the
# files of infra/ec2/. Idempotent: run it again to upgrade the binary or the units.
#
#   sudo ./install.sh --parameter /sentimap/producer/env --region eu-west-1   # settings from SSM
#   sudo ./install.sh                                                          # settings by hand in
#                                                                              # /etc/sentimap/producer.env
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
parameter="" region=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --parameter) parameter=$2; shift 2 ;;
    --region) region=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
binary="$here/sentimap"
[[ -x $binary ]] || { echo "no executable $binary (build: cargo build --release -p sentimap)" >&2; exit 1; }

# A system user with no shell, no home and no password.
if ! id sentimap >/dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir /var/lib/sentimap \
    --shell /usr/sbin/nologin sentimap
fi

install -m 0755 -o root -g root "$binary" /usr/local/bin/sentimap
install -d -m 0750 -o root -g sentimap /etc/sentimap
if [[ -n $parameter ]]; then
  region=${region:-$(TOKEN=$(curl -sf -X PUT http://169.254.169.254/latest/api/token \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 60') && curl -sf -H "X-aws-ec2-metadata-token: $TOKEN" \
    http://169.254.169.254/latest/meta-data/placement/region)}
  umask 027
  printf 'SENTIMAP_ENV_PARAMETER=%s\nAWS_REGION=%s\n' "$parameter" "$region" > /etc/sentimap/fetch.env
  chown root:sentimap /etc/sentimap/fetch.env
  chmod 0640 /etc/sentimap/fetch.env
fi
if [[ -e /etc/sentimap/producer.env ]]; then
  # Hand-written settings may hold a literal secret: readable by root and the service user only.
  chown root:sentimap /etc/sentimap/producer.env
  chmod 0640 /etc/sentimap/producer.env
fi

for unit in sentimap-producer.service sentimap-producer-env.service sentimap-journal-export.service; do
  install -m 0644 -o root -g root "$here/$unit" "/etc/systemd/system/$unit"
done

# Log shipping: journald -> /var/log/sentimap/producer.jsonl -> CloudWatch agent.
cat > /etc/logrotate.d/sentimap <<'ROTATE'
/var/log/sentimap/producer.jsonl {
  daily
  rotate 7
  compress
  missingok
  notifempty
  copytruncate
}
ROTATE
if id cwagent >/dev/null 2>&1; then
  usermod -a -G sentimap cwagent
fi
if [[ -x /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl ]]; then
  install -m 0644 "$here/amazon-cloudwatch-agent.json" /opt/aws/amazon-cloudwatch-agent/etc/sentimap.json
  /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a append-config -m ec2 \
    -c file:/opt/aws/amazon-cloudwatch-agent/etc/sentimap.json -s
fi

systemctl daemon-reload
systemctl enable sentimap-producer-env.service sentimap-journal-export.service sentimap-producer.service
systemctl restart sentimap-producer-env.service 2>/dev/null || true
systemctl restart sentimap-producer.service sentimap-journal-export.service
systemctl --no-pager status sentimap-producer.service || true
