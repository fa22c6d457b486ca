#!/bin/sh
# Makes a test CA, a server certificate for 127.0.0.1/localhost, a client
# certificate, and a client certificate from a CA nobody trusts, in $1.
set -eu
dir=$1
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
ca() {
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 2 -subj "/CN=$1" 2>/dev/null
}
cert() { # name ca san
  key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
  printf 'subjectAltName=%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial \
    -out "$1.pem" -days 2 -extfile "$1.ext" 2>/dev/null
}
ca ca
ca rogue-ca
cert server ca "IP:127.0.0.1,DNS:localhost"
cert client ca "DNS:client"
cert rogue rogue-ca "DNS:client"
