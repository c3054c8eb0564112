"""What the host-level checks read from /proc: mounts, listening sockets, identities, credentials."""

from wfdeploy.verification.procfs import (
    credential_variables,
    is_within,
    listening_sockets,
    parse_environ,
    parse_mountinfo,
    parse_process_list,
    parse_status_ids,
    root_mount,
    socket_inodes,
    unexpected_writable_mounts,
)

CONTAINER_MOUNTINFO = """\
1000 900 0:50 / / ro,relatime master:1 - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
1001 1000 0:52 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
1002 1000 0:53 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
1003 1002 0:54 / /dev/shm rw,nosuid,nodev - tmpfs shm rw,size=65536k
1004 1000 253:1 /var/lib/kubelet/pods/x/volumes/kubernetes.io~empty-dir/scratch /tmp rw,relatime - ext4 /dev/vda1 rw
1005 1000 0:60 / /etc/workflow\\040settings ro,relatime - tmpfs tmpfs rw
1006 1000 253:1 /var/lib/kubelet/pods/x/etc-hosts /etc/hosts ro,relatime - ext4 /dev/vda1 rw
1007 1000 253:1 /var/lib/kubelet/pods/x/volumes/empty-dir/cache /var/cache/app rw,relatime - ext4 /dev/vda1 rw
"""


def test_mountinfo_gives_per_mount_options_and_unescaped_paths():
    mounts = parse_mountinfo(CONTAINER_MOUNTINFO)
    assert root_mount(mounts).options >= {"ro"} and root_mount(mounts).fstype == "overlay"
    assert "/etc/workflow settings" in [mount.mount_point for mount in mounts]


def test_writable_mounts_outside_the_expected_paths_are_reported_and_kernel_mounts_ignored():
    mounts = parse_mountinfo(CONTAINER_MOUNTINFO)
    assert unexpected_writable_mounts(mounts, ("/tmp",)) == ["/var/cache/app"]
    assert unexpected_writable_mounts(mounts, ("/tmp", "/var/cache")) == []


def test_is_within_matches_whole_path_components_only():
    assert is_within("/tmp/x", ("/tmp",)) and is_within("/tmp", ("/tmp/",))
    assert not is_within("/tmpfoo", ("/tmp",))


TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 10001        0 4242 1 0
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000 10001        0 4343 1 0
   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0
"""
TCP6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:2382 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 10001        0 5151 1 0
"""


def test_listening_sockets_are_decoded_with_address_and_port_and_established_ones_dropped():
    sockets = listening_sockets(TCP + TCP6)
    assert sockets[4242] == ("127.0.0.1", 8080)
    assert sockets[5151] == ("0000:0000:0000:0000:0000:0000:0000:0001", 9090)
    assert 4343 not in sockets and sockets[99] == ("0.0.0.0", 22)


def test_only_sockets_the_process_holds_count():
    listing = "lrwx------ 1 u u 64 Jan 1 00:00 3 -> socket:[4242]\nlr-x------ 1 u u 64 Jan 1 00:00 4 -> /dev/null\n"
    assert socket_inodes(listing) == {4242}


def test_status_gives_real_effective_saved_and_fs_ids():
    status = "Name:\tpython3\nUid:\t10001\t10001\t10001\t10001\nGid:\t10001\t10001\t10001\t10001\n"
    assert parse_status_ids(status) == ([10001] * 4, [10001] * 4)


def test_process_list_separates_the_listing_shell_from_the_processes():
    own, processes = parse_process_list("77\n1\tpython3 -m reference_service --port 8080 \n77\tsh -c for d in\n")
    assert own == 77 and processes[1] == "python3 -m reference_service --port 8080"


def test_credentials_are_flagged_by_name_or_value_unless_filled_from_a_secret():
    env = parse_environ(
        "PATH=/usr/bin\0DATABASE_PASSWORD=x\0REDIS_PASSWORD=y\0LOG_LEVEL=info\0"
        "DATABASE_URL=postgresql://app:hunter2@db/app\0NOTE=AKIAABCDEFGHIJKLMNOP\0EMPTY_TOKEN=\0"
    )
    flagged = credential_variables(env, allowed=("REDIS_PASSWORD",))
    assert flagged == ["DATABASE_PASSWORD", "DATABASE_URL", "NOTE"]
    assert not any("hunter2" in name for name in flagged)
