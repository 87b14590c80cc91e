#!/usr/bin/env bash
# Test PKI for the real-server tests, made with the openssl command line.
#
# Usage: tests/servers/certs.sh CERT_DIR
#
# Creates in CERT_DIR (RSA 2048, SHA-256, 10 years):
#   ca.pem, ca.key                    test CA
#   server.pem, server.key            server cert signed by the CA,
#                                     SAN DNS:localhost, IP:127.0.0.1, IP:::1
#   server-combined.pem               server.key + server.pem (pure-ftpd -2)
#   selfsigned.pem, selfsigned.key    self-signed localhost cert, NOT from the CA
#   client.pem, client.key            client cert signed by the CA
#
# Idempotent: if every file is present, chains to the CA and is valid for at
# least another 30 days, nothing is regenerated.  Otherwise the whole set is
# rebuilt, so the server and client certs always match the current CA.
set -euo pipefail

dir=${1:?usage: certs.sh CERT_DIR}
days=3650
# Fail when a cert expires within 30 days so a long-lived state dir renews.
min_valid=$((30 * 24 * 3600))

files=(ca.pem ca.key server.pem server.key server-combined.pem
       selfsigned.pem selfsigned.key client.pem client.key)

valid() {
    local f
    for f in "${files[@]}"; do [[ -s $dir/$f ]] || return 1; done
    for f in ca.pem server.pem client.pem selfsigned.pem; do
        openssl x509 -in "$dir/$f" -noout -checkend "$min_valid" >/dev/null 2>&1 || return 1
    done
    openssl verify -CAfile "$dir/ca.pem" "$dir/server.pem" "$dir/client.pem" >/dev/null 2>&1 || return 1
    # The self-signed cert must stay outside the CA (tests rely on it failing).
    if openssl verify -CAfile "$dir/ca.pem" "$dir/selfsigned.pem" >/dev/null 2>&1; then return 1; fi
    # Key/cert pairs must match (compare public keys).
    local pair
    for pair in server client selfsigned; do
        [[ $(openssl x509 -in "$dir/$pair.pem" -noout -pubkey) == \
           $(openssl pkey -in "$dir/$pair.key" -pubout) ]] || return 1
    done
}

if valid; then exit 0; fi

mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

serial() { echo "0x$(openssl rand -hex 16)"; }   # random serials: no .srl state

cat > ca.ext <<'EOF'
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
cat > server.ext <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF
cat > client.ext <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF
cat > selfsigned.ext <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
EOF

newkey() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }

# CA
newkey ca.key
openssl req -new -key ca.key -subj "/O=ftpc tests/CN=ftpc test CA" -out ca.csr
openssl x509 -req -in ca.csr -signkey ca.key -days "$days" -sha256 \
    -set_serial "$(serial)" -extfile ca.ext -out ca.pem 2>/dev/null

# Leaf certs signed by the CA
sign() {  # name subject
    newkey "$1.key"
    openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -days "$days" -sha256 \
        -set_serial "$(serial)" -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
sign server "/O=ftpc tests/CN=localhost"
sign client "/O=ftpc tests/CN=ftpc test client"

# Self-signed localhost cert (same names as the server cert, untrusted issuer)
newkey selfsigned.key
openssl req -new -key selfsigned.key -subj "/O=ftpc tests self-signed/CN=localhost" -out selfsigned.csr
openssl x509 -req -in selfsigned.csr -signkey selfsigned.key -days "$days" -sha256 \
    -set_serial "$(serial)" -extfile selfsigned.ext -out selfsigned.pem 2>/dev/null

cat server.key server.pem > server-combined.pem

chmod 600 ./*.key server-combined.pem
chmod 644 ca.pem server.pem client.pem selfsigned.pem
for f in "${files[@]}"; do mv -f "$f" "$dir/$f"; done

valid || { echo "certs.sh: generated certificates failed validation in $dir" >&2; exit 1; }
echo "certs.sh: generated test PKI in $dir"
