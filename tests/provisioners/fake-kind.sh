#!/bin/sh
# A stand-in for kind, driven by the exec provisioner in the tests. Clusters are
# folders in $FAKE_KIND_STATE; the kubeconfig points at the test Kubernetes API
# ($FAKE_KIND_SERVER, CA file $FAKE_KIND_CA, token kube-token).
#   fake-kind.sh create|create-path|create-fail|create-garbage|delete|kubeconfig|health
set -eu
mode=$1
name=${TESTBUS_CLUSTER_NAME:?}
dir=$FAKE_KIND_STATE/$name

write_kubeconfig() {
	cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
current-context: kind-$name
clusters:
- name: kind-$name
  cluster:
    server: $FAKE_KIND_SERVER
    certificate-authority: $FAKE_KIND_CA
contexts:
- name: kind-$name
  context: {cluster: kind-$name, user: kind-$name}
users:
- name: kind-$name
  user:
    token: kube-token
EOF
	chmod 600 "$dir/kubeconfig"
}

case $mode in
create)
	mkdir "$dir"
	write_kubeconfig
	echo "Creating cluster \"$name\" ..." >&2
	printf '{"id": "kind-%s", "name": "%s", "provider": "kind", "version": "v1.29.2",\n' "$name" "$name"
	printf ' "kubeconfig_path": "%s/kubeconfig", "properties": {"nodes": 3, "image": {"tag": "v1.29.2"}, "ha": false}}\n' "$dir"
	;;
create-path)
	mkdir "$dir"
	write_kubeconfig
	echo "some progress on stdout"
	echo "$dir/kubeconfig"
	;;
create-fail)
	mkdir "$dir"
	echo "ERROR: failed to create cluster: node(s) already exist for a cluster with the name" >&2
	exit 1
	;;
create-garbage)
	mkdir "$dir"
	echo "Creating cluster... done, have a nice day"
	echo "warning: this is not JSON" >&2
	;;
create-slow)
	mkdir "$dir"
	sleep 30
	;;
delete)
	[ "${TESTBUS_CLUSTER_ID:-}" = "" ] || [ "$TESTBUS_CLUSTER_ID" = "kind-$name" ] ||
		[ "$TESTBUS_CLUSTER_ID" = "$name" ] || { echo "unexpected id $TESTBUS_CLUSTER_ID" >&2; exit 3; }
	rm -rf "$dir"
	echo "Deleted cluster $name" >&2
	;;
kubeconfig)
	cat "$dir/kubeconfig"
	;;
health)
	[ -d "$dir" ] || { echo "no cluster $name" >&2; exit 1; }
	[ -s "${KUBECONFIG:-/nonexistent}" ] || { echo "no KUBECONFIG" >&2; exit 1; }
	echo "cluster $name: all nodes ready"
	;;
esac
