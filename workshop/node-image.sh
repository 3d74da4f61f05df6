# Sourced by the two builds of the lab's container image (the workshop's learner node) from
# a provisioned Debian 12 root file system: workshop/build-node.sh on this host, and
# tests/v2/guest.sh inside the cgroup v2 guest (`./lab test-v2 --container`). What the
# image says besides its files, as `docker import` options. (The third build,
# tools/lab.Dockerfile, says the same in its own words: keep them alike.)
NODE_IMAGE_CHANGES=(
  --change 'ENTRYPOINT ["/opt/lab/workshop/node-entrypoint.sh"]'
  --change 'CMD ["/opt/lab/.venv/bin/jupyterhub-singleuser", "--allow-root"]'
  --change 'ENV PATH=/opt/lab/.venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  --change 'ENV LABKIT_OFFLINE=1 LABKIT_WORKSHOP=1'
  --change 'WORKDIR /root/work'
)
