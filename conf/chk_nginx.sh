#!/bin/sh
# vrrp_script health check for nginx: succeed only if nginx answers HTTP locally.
# vipd (like keepalived) runs this without a shell of its own, so it is a real
# executable file with a #! line; exit 0 = healthy, anything else = failing.
# Install: cp chk_nginx.sh /etc/keepalived/ && chmod 755 /etc/keepalived/chk_nginx.sh
exec curl --silent --fail --max-time 1 --output /dev/null http://127.0.0.1/
