# The roles-compat jobs under a real Zuul 14.3.0: its scheduler, executor
# and merger, Ansible in bubblewrap, ZooKeeper and MariaDB, with Zuul's own
# test harness (tests/base.py of the sdist) standing in for Gerrit (changes
# with Depends-On) and nodepool (one node: an sshd on 127.0.0.1, user
# `zuul`, sudo for `become`). Every job runs with Zuul's default settings
# (`ansible-split-streams` false: stderr merged into stdout).
#
# Run by tests/zuul/run.sh inside its namespaces, which starts the servers
# and the intermediate registry (distribution, TLS + htpasswd) and tells us
# about them in ZUUL_IMAGE_TEST_* variables. Assertions are on what the
# registries hold and what the node and the job output show, not only on
# job results.
#
# To add a scenario: put its jobs in tests/zuul/config/git/common-config/
# zuul.d/tests.yaml (playbooks under playbooks/test/), a project under
# tests/zuul/config/git/ (added to main.yaml), and a test method here that
# makes the changes and asserts on the registries.

import base64
import glob
import json
import os
import shutil
import ssl
import subprocess
import textwrap
import urllib.request

from tests.base import AnsibleZuulTestCase, FIXTURE_DIR
from zuul.lib import encryption

REPO = os.environ['ZUUL_IMAGE_TEST_REPO']
WORK = os.environ['ZUUL_IMAGE_TEST_WORK']
INTERMEDIATE = os.environ['ZUUL_IMAGE_TEST_INTERMEDIATE']
INTERMEDIATE_CA = os.environ['ZUUL_IMAGE_TEST_INTERMEDIATE_CA']
with open(os.environ['ZUUL_IMAGE_TEST_INTERMEDIATE_PASSWORD_FILE']) as f:
    INTERMEDIATE_PASSWORD = f.read().strip()
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
    },
    'use-buildset-registry': {
        'buildset_registry', 'buildset_registry_namespaces',
        'buildset_registry_unqualified_registries',
        'buildset_registry_docker_user',
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
    """The tenant: tests/zuul/config with roles-compat's roles and
    playbooks in common-config (a site would list the zuul-image repo's
    roles-compat instead) and the intermediate registry as a Zuul secret."""
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
    if os.path.isdir(os.path.join(roles_compat, 'zuul.d')):
        shutil.copytree(os.path.join(roles_compat, 'zuul.d'),
                        os.path.join(config, 'zuul.d'), dirs_exist_ok=True)
    host, port = INTERMEDIATE.rsplit(':', 1)
    with open(os.path.join(config, 'zuul.d', 'secret.yaml'), 'w') as f:
        f.write(textwrap.dedent(f"""\
            - secret:
                name: intermediate-registry
                data:
                  host: {host}
                  port: {port}
                  username: zuul
                  password: !encrypted/pkcs1-oaep
                    - {encrypted(INTERMEDIATE_PASSWORD)}
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


def intermediate(path, method='GET'):
    return registry_request(f'https://{INTERMEDIATE}/v2/{path}',
                            INTERMEDIATE_CA, method=method,
                            auth=('zuul', INTERMEDIATE_PASSWORD))


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

    def job_output(self, build):
        path = os.path.join(self.jobdir_root, build.uuid, 'work', 'logs',
                            'job-output.txt')
        with open(path) as f:
            return f.read()

    def assertBuild(self, name, project, result):
        """The build of job `name` for `project`, which ended as `result`;
        on a mismatch the job's output is in the failure message."""
        build = self.getJobFromHistory(name, project=project)
        if build.result != result:
            try:
                output = self.job_output(build)
            except OSError as err:
                output = f'(no job output: {err})'
            self.fail(f'{name} on {project}: {build.result}, expected '
                      f'{result}; job output:\n{output[-20000:]}')
        return build

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

    # -- scenarios --

    def test_speculative_image_between_changes(self):
        """Change A to org/base puts example/base into its own buildset
        registry; the post-run pushes it to the intermediate registry and
        returns the artifact. Change B to org/app (Depends-On: A) runs the
        site's buildset-registry job, which pulls A's image and pauses; its
        child pulls the image through docker's mirror."""
        A = self.fake_gerrit.addFakeChange('org/base', 'master', 'A')
        self.fake_gerrit.addEvent(A.getPatchsetCreatedEvent(1))
        self.waitUntilSettled()
        a = self.assertBuild('base-image', 'org/base', 'SUCCESS')

        status, _, body = intermediate('example/base/tags/list')
        self.assertEqual(status, 200, body)
        self.assertIn(f'{a.uuid}_latest', json.loads(body)['tags'])
        status, headers, _ = intermediate(
            f'example/base/manifests/{a.uuid}_latest', method='HEAD')
        self.assertEqual(status, 200)
        digest = headers['Docker-Content-Digest']
        artifacts = self.getBuildArtifacts(a)
        self.assertEqual(artifacts, [{
            'name': 'example/base:latest',
            'url': f'docker://{INTERMEDIATE}/example/base:{a.uuid}_latest',
            'metadata': {'type': 'container_image',
                         'repository': 'example/base', 'tag': 'latest'},
        }])
        self.assertTrue(os.path.getsize(os.path.join(
            NODE_HOME, 'zuul-output/logs/buildset-registry.log')) > 0)
        # ensure-docker got the site's mirror, use-buildset-registry put
        # the buildset registry first.
        with open('/etc/docker/daemon.json') as f:
            mirrors = json.load(f)['registry-mirrors']
        self.assertEqual(mirrors[0], 'https://zuul-jobs.buildset-registry:5001/')
        self.assertIn('http://mirror.example.org:8082', mirrors)

        # On a real site A's node is gone by now: stop its registry, so
        # B can get the image only from its own buildset registry.
        subprocess.run(['/usr/local/bin/zuul-image', 'registry', 'stop',
                        '--root', f'{NODE_HOME}/registry-a'], check=True)
        os.unlink(os.path.join(NODE_HOME,
                               'zuul-output/logs/buildset-registry.log'))

        B = self.fake_gerrit.addFakeChange('org/app', 'master', 'B')
        B.data['commitMessage'] = (
            f"{B.subject}\n\nDepends-On: {A.data['url']}\n")
        self.fake_gerrit.addEvent(B.getPatchsetCreatedEvent(1))
        self.waitUntilSettled()
        registry = self.assertBuild('yoursite-buildset-registry', 'org/app',
                                    'SUCCESS')
        self.assertBuild('check-base-image', 'org/app', 'SUCCESS')
        output = self.job_output(registry)
        self.assertIn('Job paused', output)
        # zuul-image's log lines (stderr) are merged into the command's
        # output, as Zuul does by default, and the data still came back.
        self.assertIn('pausing this job so its children can use the '
                      'buildset registry', output)

        # B's buildset registry holds A's image under its own name.
        status, headers, _ = registry_request(
            'https://127.0.0.1:5002/v2/example/base/manifests/latest',
            f'{NODE_HOME}/registry-b/tls/ca.pem', method='HEAD')
        self.assertEqual(status, 200)
        self.assertEqual(headers['Docker-Content-Digest'], digest)
        with open(os.path.join(NODE_HOME,
                               'zuul-output/logs/buildset-registry.log')) as f:
            # The role's buildset_registry_host (ansible_host, an address
            # of the node) is where it listens, not every interface.
            self.assertIn('registry listening on 127.0.0.1:5002', f.read())
        self.assertNodeVarsFilesPrivate()

    def test_failing_command_is_visible(self):
        """A command that fails shows its error in the job output (no_log
        hides only what carries secrets), and its vars file is removed."""
        C = self.fake_gerrit.addFakeChange('org/failing', 'master', 'C')
        self.fake_gerrit.addEvent(C.getPatchsetCreatedEvent(1))
        self.waitUntilSettled()
        build = self.assertBuild('visible-failure', 'org/failing', 'FAILURE')
        output = self.job_output(build)
        self.assertIn('`buildset_registry.host`', output)
        self.assertIn('invalid registry host `not a host!`', output)
        self.assertNotIn('not-secret', output)
        self.assertNodeVarsFilesPrivate()

    def getBuildArtifacts(self, build):
        """The artifacts Zuul stored for `build` (its SQL database)."""
        connection = self.scheds.first.sched.sql.connection
        stored = connection.getBuilds(uuid=build.uuid)[0]
        return [{'name': artifact.name, 'url': artifact.url,
                 'metadata': json.loads(artifact.meta) if artifact.meta
                 else {}}
                for artifact in stored.artifacts]
