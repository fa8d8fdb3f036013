# The roles-compat site jobs (roles-compat/zuul.d) under a real Zuul
# 14.3.0: its scheduler, executor and merger, Ansible in bubblewrap,
# ZooKeeper and MariaDB, with Zuul's own test harness (tests/base.py of
# the sdist) standing in for Gerrit (changes with Depends-On, merges) and
# nodepool (one node: an sshd on 127.0.0.1, user `zuul`, sudo for
# `become`). Every job runs with Zuul's default settings
# (`ansible-split-streams` false: stderr merged into stdout).
#
# Run by tests/zuul/run.sh inside its namespaces, which starts the servers,
# the intermediate registry and the final registry (distributions with TLS
# + htpasswd; the final one behind the Docker Hub API stand-in) and tells
# us about them in ZUUL_IMAGE_TEST_* variables. Assertions are on what the
# registries, the node's daemons and Zuul's database hold, not only on job
# results.
#
# The tenant is tests/zuul/config plus roles-compat: its roles, playbooks
# and site jobs go into common-config as a site would put them there; the
# test supplies only the secrets. Each project's zuul.yaml holds its own
# jobs, as on a site. To add a scenario: a project under
# tests/zuul/config/git/ (listed in main.yaml) and a test method here that
# makes the changes and asserts on the registries.

import base64
import glob
import json
import os
import shutil
import ssl
import subprocess
import textwrap
import time
import urllib.request

from tests.base import AnsibleZuulTestCase, FIXTURE_DIR, iterate_timeout
from zuul.lib import encryption

REPO = os.environ['ZUUL_IMAGE_TEST_REPO']
WORK = os.environ['ZUUL_IMAGE_TEST_WORK']
INTERMEDIATE = os.environ['ZUUL_IMAGE_TEST_INTERMEDIATE']
INTERMEDIATE_CA = os.environ['ZUUL_IMAGE_TEST_INTERMEDIATE_CA']
FINAL = os.environ['ZUUL_IMAGE_TEST_FINAL']
FINAL_CA = os.environ['ZUUL_IMAGE_TEST_FINAL_CA']


def read_secret(variable):
    with open(os.environ[variable]) as f:
        return f.read().strip()


INTERMEDIATE_PASSWORD = read_secret(
    'ZUUL_IMAGE_TEST_INTERMEDIATE_PASSWORD_FILE')
FINAL_PASSWORD = read_secret('ZUUL_IMAGE_TEST_FINAL_PASSWORD_FILE')
AUDIT = '/var/tmp/zuul-image-audit'
NODE_HOME = '/home/zuul'
MANIFEST_TYPES = ', '.join([
    'application/vnd.oci.image.index.v1+json',
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.docker.distribution.manifest.v2+json',
])

# What each command run on the node may be handed (zuul_image_vars of its
# role, the facts and defaults the role adds): nothing else, and never
# the intermediate registry's credentials.
IMAGE_VARS = {
    'zuul', 'zuul_work_dir', 'buildset_registry', 'docker_images',
    'docker_dockerfile', 'docker_registry', 'docker_use_buildkit',
    'docker_builder_image', 'container_images', 'container_command',
    'container_filename', 'container_build_extra_env',
    'container_builder_image',
}
NODE_COMMAND_VARS = {
    'ensure-docker': {
        'use_upstream_docker', 'docker_group', 'docker_use_buildset_registry',
        'docker_compose_install', 'docker_update_channel',
        'docker_download_fqdn', 'docker_mirror_base_url', 'docker_gpg_key',
        'docker_distro_packages', 'docker_upstream_distro_required_packages',
        'docker_upstream_distro_packages',
        'docker_upstream_distro_remove_packages', 'docker_userland_proxy',
        'docker_insecure_registries', 'docker_mirror', 'mirror_fqdn',
        'zuul_site_mirror_fqdn', 'mirror_info', 'zuul_site_mirror_info',
        'ansible_user', 'ansible_default_ipv4',
    },
    'run-buildset-registry': {
        'buildset_registry', 'buildset_registry_host',
        'buildset_registry_port', 'buildset_registry_root',
        'buildset_registry_listen',
    },
    'use-buildset-registry': {
        'buildset_registry', 'buildset_registry_namespaces',
        'buildset_registry_unqualified_registries',
        'buildset_registry_docker_user',
    },
    'build-image': IMAGE_VARS,
    'upload-image': IMAGE_VARS | {
        'docker_credentials', 'upload_docker_image_promote',
        'container_registry_credentials', 'upload_container_image_promote',
        'promote_container_image_method',
    },
}


def project_public_key():
    """The key the harness gives every project (tests/fixtures/secrets.json)."""
    with open(os.path.join(FIXTURE_DIR, 'secrets.json')) as f:
        pem = json.load(f)['keys'][0]['private_key']
    _, public = encryption.deserialize_rsa_keypair(
        pem.encode(), b'keystorepassword')
    return public


def encrypted(text):
    ciphertext = encryption.encrypt_pkcs1_oaep(
        text.encode(), project_public_key())
    return base64.b64encode(ciphertext).decode()


def build_fixture():
    """The tenant: tests/zuul/config with roles-compat's roles, playbooks
    and site jobs in common-config, as a site puts them in its
    config-project, and the site's secrets (secrets.yaml, placeholders in
    roles-compat) with this run's registries."""
    dest = os.path.join(WORK, 'fixture')
    if os.path.exists(dest):
        shutil.rmtree(dest)
    shutil.copytree(os.path.join(REPO, 'tests/zuul/config'), dest)
    config = os.path.join(dest, 'git', 'common-config')
    roles_compat = os.path.join(REPO, 'roles-compat')
    shutil.copytree(os.path.join(roles_compat, 'roles'),
                    os.path.join(config, 'roles'))
    shutil.copytree(os.path.join(roles_compat, 'playbooks'),
                    os.path.join(config, 'playbooks'), dirs_exist_ok=True)
    shutil.copytree(os.path.join(roles_compat, 'zuul.d'),
                    os.path.join(config, 'zuul.d'), dirs_exist_ok=True)
    host, port = INTERMEDIATE.rsplit(':', 1)
    with open(os.path.join(config, 'zuul.d', 'secrets.yaml'), 'w') as f:
        f.write(textwrap.dedent(f"""\
            - secret:
                name: yoursite-intermediate-registry
                data:
                  host: {host}
                  port: {port}
                  username: zuul
                  password: !encrypted/pkcs1-oaep
                    - {encrypted(INTERMEDIATE_PASSWORD)}
            # The final registry stands in for Docker Hub (type: docker):
            # its tags are deleted through the Hub API stand-in.
            - secret:
                name: yoursite-docker-hub
                data:
                  username: zuul
                  password: !encrypted/pkcs1-oaep
                    - {encrypted(FINAL_PASSWORD)}
                  repository: "^example/"
                  type: docker
            - secret:
                name: yoursite-container-registries
                data:
                  quay.io:
                    username: zuul
                    password: !encrypted/pkcs1-oaep
                      - {encrypted(FINAL_PASSWORD)}
                    repository: "^quay.io/example/"
            """))
    return dest


def registry_request(url, cafile, method='GET', auth=None,
                     accept=MANIFEST_TYPES):
    """One request to a registry; returns (status, headers, body)."""
    context = ssl.create_default_context(cafile=cafile)
    request = urllib.request.Request(url, method=method,
                                     headers={'Accept': accept})
    if auth:
        token = base64.b64encode(':'.join(auth).encode()).decode()
        request.add_header('Authorization', f'Basic {token}')
    try:
        with urllib.request.urlopen(request, context=context,
                                    timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


class Registry:
    """A registry the test reads: the intermediate, the final one, or a
    buildset registry (its CA under its root on the node)."""

    def __init__(self, address, cafile, auth=None):
        self.address = address
        self.cafile = cafile
        self.auth = auth

    @classmethod
    def buildset(cls, port, root):
        return cls(f'127.0.0.1:{port}', f'{root}/tls/ca.pem')

    def request(self, path, method='GET'):
        return registry_request(f'https://{self.address}/v2/{path}',
                                self.cafile, method=method, auth=self.auth)

    def tags(self, repository):
        status, _, body = self.request(f'{repository}/tags/list')
        if status == 404:
            return []
        assert status == 200, (status, body)
        return json.loads(body)['tags'] or []

    def digest(self, repository, tag):
        """The digest of `repository:tag`, None when there is none."""
        status, headers, _ = self.request(
            f'{repository}/manifests/{tag}', method='HEAD')
        if status == 404:
            return None
        assert status == 200, (self.address, repository, tag, status)
        return headers['Docker-Content-Digest']


INTERMEDIATE_REGISTRY = Registry(INTERMEDIATE, INTERMEDIATE_CA,
                                 ('zuul', INTERMEDIATE_PASSWORD))
FINAL_REGISTRY = Registry(FINAL, FINAL_CA, ('zuul', FINAL_PASSWORD))


def artifact(build, repository, tag='latest'):
    """The artifact push-to-intermediate returns for `repository:tag`
    built by `build`."""
    return {
        'name': f'{repository}:{tag}',
        'url': f'docker://{INTERMEDIATE}/{repository}:{build.uuid}_{tag}',
        'metadata': {'type': 'container_image',
                     'repository': repository, 'tag': tag},
    }


class RolesCompatUnderZuul(AnsibleZuulTestCase):
    # Replaced in setUp by the fixture built for this run.
    tenant_config_file = 'config/single-tenant/main.yaml'

    def setUp(self):
        self.tenant_config_file = os.path.join(build_fixture(), 'main.yaml')
        for path in glob.glob(os.path.join(AUDIT, 'vars.*')):
            os.unlink(path)
        super().setUp()
        self.fake_nodepool.remote_ansible = True
        self.fake_nodepool.python_path = '/usr/bin/python3'
        self.executor_server.keep_jobdir = True
        self.wait_timeout = 900

    # -- helpers --

    def settle(self):
        """Wait until every build has ended: a paused registry job
        resumes (its post-run) once its children are done, which can look
        settled in between."""
        self.waitUntilSettled()
        for _ in iterate_timeout(600, 'paused builds to end'):
            if not self.builds:
                break
            time.sleep(1)
        self.waitUntilSettled()

    def job_output(self, build):
        path = os.path.join(self.jobdir_root, build.uuid, 'work', 'logs',
                            'job-output.txt')
        with open(path) as f:
            return f.read()

    def build(self, name, project, pipeline, result='SUCCESS'):
        """The build of job `name` for `project` in `pipeline`, which
        ended as `result`; on a mismatch the job's output is in the
        failure message."""
        found = [b for b in self.history
                 if b.name == name
                 and b.parameters['zuul']['project']['name'] == project
                 and b.parameters['zuul']['pipeline'] == pipeline]
        self.assertEqual(len(found), 1, f'{name} on {project} in '
                         f'{pipeline}: {found} (history: {self.history})')
        build = found[0]
        if build.result != result:
            try:
                output = self.job_output(build)
            except OSError as err:
                output = f'(no job output: {err})'
            self.fail(f'{name} on {project} in {pipeline}: {build.result}, '
                      f'expected {result}; job output:\n{output[-20000:]}')
        return build

    def stored_artifacts(self, build):
        """The artifacts Zuul stored for `build` (its SQL database)."""
        connection = self.scheds.first.sched.sql.connection
        stored = connection.getBuilds(uuid=build.uuid)[0]
        return [{'name': artifact.name, 'url': artifact.url,
                 'metadata': json.loads(artifact.meta) if artifact.meta
                 else {}}
                for artifact in stored.artifacts]

    def assertArtifactsGiven(self, build, providers):
        """`build` got, in zuul.artifacts, the artifacts of `providers`
        (the image jobs of the changes ahead), oldest first."""
        given = [{k: a.get(k) for k in ('name', 'url', 'metadata', 'job')}
                 for a in build.parameters['zuul'].get('artifacts', [])]
        expected = []
        for provider in providers:
            for a in self.stored_artifacts(provider):
                expected.append(dict(a, job=provider.name))
        self.assertTrue(expected, f'{providers} stored no artifacts')
        self.assertEqual(given, expected, f'zuul.artifacts of {build.name}')

    def assertPushed(self, build, repository):
        """`build`'s post-run pushed `repository:latest` to the
        intermediate registry and returned it as its artifact; returns the
        digest there."""
        digest = INTERMEDIATE_REGISTRY.digest(
            repository, f'{build.uuid}_latest')
        self.assertIsNotNone(digest, f'{repository} of {build.name}')
        self.assertEqual(self.stored_artifacts(build),
                         [artifact(build, repository)])
        return digest

    def node(self, *argv, user=None):
        """Run a command on the node (this namespace), as `user`."""
        if user:
            argv = ('sudo', '-u', user, '-H', '--', *argv)
        done = subprocess.run(argv, capture_output=True, text=True,
                              cwd='/')
        self.assertEqual(done.returncode, 0, f'{argv}: {done.stderr}')
        return done.stdout

    def audited_vars_files(self):
        """What the node's zuul-image was handed: one record per vars
        file, with its command, mode, owner, path and content."""
        records = []
        for copy in sorted(glob.glob(os.path.join(AUDIT, 'vars.*'))):
            with open(copy) as f:
                header, _, content = f.read().partition('\n')
            mode, owner, path, command = header.split(' ', 3)
            records.append({'command': command, 'mode': mode,
                            'owner': owner, 'path': path,
                            'vars': json.loads(content), 'text': content})
        self.assertTrue(records, 'the node ran no zuul-image command')
        return records

    def assertNodeVarsFilesPrivate(self):
        """Every vars file on the node was 0600, is gone, held only its
        command's variables and never the intermediate registry's
        password."""
        for record in self.audited_vars_files():
            what = f"{record['command']} ({record['path']})"
            self.assertEqual(record['mode'], '600', what)
            self.assertFalse(os.path.exists(record['path']),
                             f'{what}: vars file left behind')
            self.assertNotIn(INTERMEDIATE_PASSWORD, record['text'], what)
            allowed = NODE_COMMAND_VARS.get(record['command'])
            self.assertIsNotNone(allowed, f'unexpected command {what}')
            self.assertLessEqual(set(record['vars']), allowed, what)
        found = subprocess.run(
            ['grep', '-rlF', '--', INTERMEDIATE_PASSWORD,
             NODE_HOME, '/etc', '/var/tmp'],
            capture_output=True, text=True)
        self.assertEqual(found.stdout, '',
                         'the intermediate password is in node files')

    def depends_on(self, change, ahead):
        change.data['commitMessage'] = (
            f"{change.subject}\n\nDepends-On: {ahead.data['url']}\n")

    # -- scenarios --

    def test_docker_images_check_gate_promote(self):
        """The zuul-jobs docs' workflow with the docker site jobs.

        check: change A to org/base (only producers) runs its image job
        alone: the registry on its own node, example/base built FROM
        scratch with A's file, pushed to the intermediate registry as an
        artifact. Change B to org/app (Depends-On: A) runs the
        buildset-registry job, which gets A's artifact and pulls it, the
        image job (example/app FROM example/base) and a test job that pulls
        example/app through docker's mirror and reads A's and B's files.

        gate: A and B approved, tested together (A live ahead of B; A's
        image job between its paused registry job and a test job that
        reads the image from the registry, so A's item is still in the
        queue when B's jobs start); B's
        upload job puts example/app:change_<B>_latest on the final
        registry; the fake Gerrit merges both. promote (change-merged): the
        tag becomes latest and the temporary tag is deleted through the
        Docker Hub API stand-in."""
        A = self.fake_gerrit.addFakeChange('org/base', 'master', 'A',
                                           files={'A': 'A'})
        self.fake_gerrit.addEvent(A.getPatchsetCreatedEvent(1))
        self.settle()
        a = self.build('org-base-image', 'org/base', 'check')
        base = self.assertPushed(a, 'example/base')
        self.assertTrue(os.path.getsize(os.path.join(
            NODE_HOME, 'zuul-output/logs/buildset-registry.log')) > 0)
        # ensure-docker got the site's mirror, use-buildset-registry put
        # the buildset registry first.
        with open('/etc/docker/daemon.json') as f:
            mirrors = json.load(f)['registry-mirrors']
        self.assertEqual(mirrors[0],
                         'https://zuul-jobs.buildset-registry:5001/')
        self.assertIn('http://mirror.example.org:8082', mirrors)
        # On a real site A's node is gone by now: stop its registry, so
        # B can get the image only through the intermediate registry.
        self.node('/usr/local/bin/zuul-image', 'registry', 'stop', '--root',
                  f'{NODE_HOME}/registry-check-base')

        B = self.fake_gerrit.addFakeChange('org/app', 'master', 'B',
                                           files={'B': 'B'})
        self.depends_on(B, A)
        self.fake_gerrit.addEvent(B.getPatchsetCreatedEvent(1))
        self.settle()
        registry = self.build('yoursite-buildset-registry', 'org/app',
                              'check')
        image = self.build('org-app-image', 'org/app', 'check')
        self.build('org-app-test', 'org/app', 'check')
        # The registry job got A's artifact (from Zuul's database: A is
        # not live in B's check queue) and paused; the image job, in the
        # same buildset, provides another name and got nothing to pull.
        self.assertArtifactsGiven(registry, [a])
        self.assertNotIn('artifacts', image.parameters['zuul'])
        output = self.job_output(registry)
        self.assertIn('Job paused', output)
        # zuul-image's log lines (stderr) are merged into the command's
        # output, as Zuul does by default, and the data still came back.
        self.assertIn('pausing this job so its children can use the '
                      'buildset registry', output)
        check_app = Registry.buildset(5002, f'{NODE_HOME}/registry-check-app')
        self.assertEqual(check_app.digest('example/base', 'latest'), base)
        self.assertEqual(self.assertPushed(image, 'example/app'),
                         check_app.digest('example/app', 'latest'))
        with open(os.path.join(NODE_HOME,
                               'zuul-output/logs/buildset-registry.log')) as f:
            # The role's buildset_registry_host (ansible_host, an address
            # of the node) is where it listens, not every interface.
            self.assertIn('registry listening on 127.0.0.1:5002', f.read())

        # gate: A and B together, A live ahead of B.
        for change in (A, B):
            change.addApproval('Code-Review', 2)
        self.fake_gerrit.addEvent(A.addApproval('Approved', 1))
        self.fake_gerrit.addEvent(B.addApproval('Approved', 1))
        self.settle()
        self.build('yoursite-buildset-registry', 'org/base', 'gate')
        gate_a = self.build('org-base-image', 'org/base', 'gate')
        self.build('org-base-test', 'org/base', 'gate')
        gate_registry = self.build('yoursite-buildset-registry', 'org/app',
                                   'gate')
        upload = self.build('org-app-image-upload', 'org/app', 'gate')
        self.build('org-app-test', 'org/app', 'gate')
        self.assertEqual(A.data['status'], 'MERGED')
        self.assertEqual(B.data['status'], 'MERGED')
        # From the live item ahead: the registry job waited for A's image
        # job (requires) and got its artifact, A's item being still in the
        # queue (its registry job paused while org-base-test ran). With
        # A's image job alone in A's buildset, A merged and left the queue
        # before this job started, and it got nothing (Zuul 14.3).
        self.assertArtifactsGiven(gate_registry, [gate_a])
        gate_base = self.assertPushed(gate_a, 'example/base')
        gate_app = Registry.buildset(5004, f'{NODE_HOME}/registry-gate-app')
        self.assertEqual(gate_app.digest('example/base', 'latest'),
                         gate_base)
        tested = gate_app.digest('example/app', 'latest')
        self.assertEqual(self.assertPushed(upload, 'example/app'), tested)
        temporary = f'change_{B.number}_latest'
        self.assertEqual(FINAL_REGISTRY.tags('example/app'), [temporary])
        self.assertEqual(FINAL_REGISTRY.digest('example/app', temporary),
                         tested)
        # The daemon holds what the test job pulled through the mirror.
        digests = json.loads(self.node(
            'docker', 'image', 'inspect', '--format',
            '{{json .RepoDigests}}', 'example/app:latest'))
        self.assertIn(f'example/app@{tested}', digests)

        # promote, once the changes merged.
        self.fake_gerrit.addEvent(A.getChangeMergedEvent())
        self.fake_gerrit.addEvent(B.getChangeMergedEvent())
        self.settle()
        promote = self.build('org-app-promote', 'org/app', 'promote')
        self.assertEqual(FINAL_REGISTRY.tags('example/app'), ['latest'])
        self.assertEqual(FINAL_REGISTRY.digest('example/app', 'latest'),
                         tested)
        self.assertRegex(self.job_output(promote),
                         f'deleted the temporary tag `[^`]*example/app:'
                         f'{temporary}`')
        self.assertNodeVarsFilesPrivate()

    def test_container_images_check(self):
        """The same producers-and-consumers flow with the container site
        jobs: quay.io images built by podman as the node's user, pulled
        through the registries.conf mirror."""
        C = self.fake_gerrit.addFakeChange('org/cbase', 'master', 'C',
                                           files={'C': 'C'})
        self.fake_gerrit.addEvent(C.getPatchsetCreatedEvent(1))
        self.settle()
        c = self.build('org-cbase-image', 'org/cbase', 'check')
        cbase = self.assertPushed(c, 'quay.io/example/cbase')
        self.node('/usr/local/bin/zuul-image', 'registry', 'stop', '--root',
                  f'{NODE_HOME}/registry-check-cbase')

        D = self.fake_gerrit.addFakeChange('org/capp', 'master', 'D',
                                           files={'D': 'D'})
        self.depends_on(D, C)
        self.fake_gerrit.addEvent(D.getPatchsetCreatedEvent(1))
        self.settle()
        registry = self.build('yoursite-buildset-registry', 'org/capp',
                              'check')
        image = self.build('org-capp-image', 'org/capp', 'check')
        self.build('org-capp-test', 'org/capp', 'check')
        self.assertArtifactsGiven(registry, [c])
        check_capp = Registry.buildset(5006,
                                       f'{NODE_HOME}/registry-check-capp')
        self.assertEqual(check_capp.digest('quay.io/example/cbase', 'latest'),
                         cbase)
        tested = check_capp.digest('quay.io/example/capp', 'latest')
        self.assertEqual(self.assertPushed(image, 'quay.io/example/capp'),
                         tested)
        # The user's podman storage holds what the test job pulled.
        digests = json.loads(self.node(
            'podman', 'image', 'inspect', '--format',
            '{{json .RepoDigests}}', 'quay.io/example/capp:latest',
            user='zuul'))
        self.assertIn(f'quay.io/example/capp@{tested}', digests)
        self.assertNodeVarsFilesPrivate()

    def test_failing_command_is_visible(self):
        """A command that fails shows its error in the job output (no_log
        hides only what carries secrets), and its vars file is removed."""
        C = self.fake_gerrit.addFakeChange('org/failing', 'master', 'C')
        self.fake_gerrit.addEvent(C.getPatchsetCreatedEvent(1))
        self.settle()
        build = self.build('visible-failure', 'org/failing', 'check',
                           result='FAILURE')
        output = self.job_output(build)
        self.assertIn('`buildset_registry.host`', output)
        self.assertIn('invalid registry host `not a host!`', output)
        self.assertNotIn('not-secret', output)
        self.assertNodeVarsFilesPrivate()
