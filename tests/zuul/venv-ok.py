"""Whether a venv tests/zuul/setup.sh made is still usable where it is now.

    /usr/bin/python3 tests/zuul/venv-ok.py VENV SRC [ANSIBLE_DIR]

Exit 0 when it is; else 1, saying why on stderr. A venv is bound to the
path it was made at: its scripts' shebangs name its interpreter there, and
the editable install of Zuul names the sdist's path. A target/ copied or
moved from another checkout keeps setup.sh's markers but points at the
old paths (which may still exist, and belong to another tree), and a venv
whose system interpreter went away cannot start at all. With ANSIBLE_DIR
(the executor's Ansible installs, zuul-manage-ansible's venvs) each of
those is checked the same way.
"""

import os
import subprocess
import sys

PROBE = """
import os, sys
print(os.path.realpath(sys.prefix))
try:
    import zuul
    print(os.path.realpath(zuul.__file__))
except ImportError:
    print('')
"""


def interpreter(script):
    """The interpreter a script's shebang names, or None."""
    try:
        with open(script, 'rb') as f:
            first = f.readline()
    except OSError:
        return None
    if not first.startswith(b'#!'):
        return None
    words = first[2:].decode(errors='replace').split()
    return words[0] if words else None


def check(venv, scripts, src=None):
    """Why the venv at `venv` is unusable, or None."""
    python = os.path.join(venv, 'bin', 'python')
    if not os.access(python, os.X_OK):
        return f'{python} does not run (its interpreter is gone)'
    try:
        done = subprocess.run([python, '-c', PROBE], capture_output=True,
                              text=True, timeout=60)
    except OSError as err:
        return f'{python} does not start: {err}'
    if done.returncode != 0:
        return f'{python} fails: {done.stderr.strip()[-300:]}'
    prefix, module = (done.stdout.splitlines() + ['', ''])[:2]
    if prefix != venv:
        return f'{python} says its venv is {prefix}'
    if src is not None and not module.startswith(src + os.sep):
        return (f'zuul is imported from {module or "nowhere"}, '
                f'not from {src}')
    for name in scripts:
        script = os.path.join(venv, 'bin', name)
        named = interpreter(script)
        if named is None:
            return f'{script} is missing or has no shebang'
        if not named.startswith(venv + os.sep):
            return f'{script} runs {named}, outside {venv}'
        if not os.access(named, os.X_OK):
            return f'{script} runs {named}, which is missing'
    return None


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    venv = os.path.realpath(argv[1])
    src = os.path.realpath(argv[2])
    why = check(venv, ['pip', 'zuul-manage-ansible'], src)
    if why is None and len(argv) == 4:
        ansible = os.path.realpath(argv[3])
        installs = sorted(os.listdir(ansible)) if os.path.isdir(ansible) else []
        if not installs:
            why = f'no Ansible installs in {ansible}'
        for version in installs:
            why = why or check(os.path.join(ansible, version),
                               ['ansible-playbook'])
    if why:
        print(why, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
