# Starts radosgw on dbstore with TLS on port S3_PORT, after creating the one user whose keys the
# tests hold (S3_ACCESS_KEY, S3_SECRET_KEY). TLS_CERT and TLS_KEY name the server's certificate.
set -eu
mkdir -p /etc/ceph /var/lib/ceph/radosgw/dbstore /var/run/ceph
cat > /etc/ceph/ceph.conf <<CONF
[client]
rgw backend store = dbstore
rgw config store = dbstore
dbstore db dir = /var/lib/ceph/radosgw/dbstore
rgw frontends = beast ssl_port=${S3_PORT} ssl_certificate=${TLS_CERT} ssl_private_key=${TLS_KEY}
log to stderr = true
err to stderr = true
CONF
radosgw-admin user create --uid=test --display-name=test --access-key="$S3_ACCESS_KEY" --secret-key="$S3_SECRET_KEY" > /dev/null
echo "rgw: user created"
exec radosgw -f -n client.rgw
