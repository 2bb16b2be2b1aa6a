# shellcheck shell=bash
# gen_tls_certs DIR [CLIENT_CN]: in DIR, a CA (ca.pem, ca-key.pem), a server
# certificate for 127.0.0.1 and localhost (server-cert.pem, server-key.pem)
# and a client certificate (cert.pem, key.pem; CN=CLIENT_CN, default
# alice), as docker's "Protect the Docker daemon socket" guide names them;
# plus DIR/other/: another CA with a client certificate of its own (CN
# mallory). Used by tests/e2e/tls.bats and bench/security.sh.
gen_tls_certs()
{
	local d=$1 cn=${2:-alice}
	mkdir -p "$d/other"
	(
		set -e
		cd "$d"
		o() { openssl "$@" 2>/dev/null >/dev/null; }
		o req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=berth-test-ca -keyout ca-key.pem -out ca.pem
		o req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server-key.pem -out server.csr
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
		o x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -extfile server.ext \
			-out server-cert.pem
		printf 'extendedKeyUsage=clientAuth\n' >client.ext
		o req -newkey rsa:2048 -nodes -subj "/CN=$cn" -keyout key.pem -out client.csr
		o x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -extfile client.ext \
			-out cert.pem
		o req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout other/ca-key.pem -out other/ca.pem
		o req -newkey rsa:2048 -nodes -subj /CN=mallory -keyout other/key.pem -out other/client.csr
		o x509 -req -in other/client.csr -CA other/ca.pem -CAkey other/ca-key.pem -CAcreateserial -days 2 \
			-extfile client.ext -out other/cert.pem
	)
}
