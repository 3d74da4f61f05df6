# The lab's container (the workshop's learner node) built with Docker, for a user who is not
# root where a registry answers: Debian 12's image, set up by the lab's own
# `./lab setup --no-engine` (Docker, containerd, runc, the CNI plugins, Podman, busybox, the
# Python environment). The same image as workshop/build-node.sh makes offline, as root, from
# debootstrap; ./lab up runs it privileged, with engines of its own inside.
#
# The build context is the checkout's tracked files (./lab sends `git ls-files` as a tar).
ARG BASE=debian:12
FROM ${BASE}
COPY . /opt/lab
# No engine starts in a build (a policy-rc.d of the build's own says no to every service
# the packages would start); packages come from Debian's registry, Python's from PyPI,
# trusting the building host's certificate authorities where it lent them (.host-ca.crt).
RUN cd /opt/lab \
 && if [ ! -e /usr/sbin/policy-rc.d ]; then \
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
      && touch /tmp/policy-rc.d.ours; fi \
 && if [ -f .host-ca.crt ]; then export PIP_CERT=/opt/lab/.host-ca.crt; fi \
 && ./lab setup --no-engine \
 && if [ -e /tmp/policy-rc.d.ours ]; then rm -f /usr/sbin/policy-rc.d /tmp/policy-rc.d.ours; fi \
 && rm -rf .host-ca.crt /var/lib/apt/lists/* /var/cache/apt/*.bin /root/.cache
# (the same settings workshop/node-image.sh gives the images imported from debootstrap)
ENV PATH=/opt/lab/.venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LABKIT_OFFLINE=1 LABKIT_WORKSHOP=1
WORKDIR /root/work
LABEL org.labkit.image=learner-node
ENTRYPOINT ["/opt/lab/workshop/node-entrypoint.sh"]
CMD ["/opt/lab/.venv/bin/jupyterhub-singleuser", "--allow-root"]
