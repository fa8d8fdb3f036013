
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'zuul-image' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'zuul-image'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'zuul-image' {
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('ensure-docker', 'ensure-docker', [CompletionResultType]::ParameterValue, 'Install (if missing), configure and start Docker')
            [CompletionResult]::new('run-buildset-registry', 'run-buildset-registry', [CompletionResultType]::ParameterValue, 'Start the embedded buildset registry and return its connection data')
            [CompletionResult]::new('use-buildset-registry', 'use-buildset-registry', [CompletionResultType]::ParameterValue, 'Point docker, podman/buildah/cri-o, containerd and buildkit at the buildset registry')
            [CompletionResult]::new('pull-from-intermediate', 'pull-from-intermediate', [CompletionResultType]::ParameterValue, 'Copy the artifact images of the changes ahead into the buildset registry')
            [CompletionResult]::new('push-to-intermediate', 'push-to-intermediate', [CompletionResultType]::ParameterValue, 'Copy this buildset''s images to the intermediate registry and return them as artifacts')
            [CompletionResult]::new('build-image', 'build-image', [CompletionResultType]::ParameterValue, 'Build images (docker/buildx, podman or buildah), tag them and push them to the buildset registry')
            [CompletionResult]::new('upload-image', 'upload-image', [CompletionResultType]::ParameterValue, 'Push images to the final registry under the temporary tag')
            [CompletionResult]::new('promote-image', 'promote-image', [CompletionResultType]::ParameterValue, 'Move the temporary tag to the real tag and delete temporary tags')
            [CompletionResult]::new('pause', 'pause', [CompletionResultType]::ParameterValue, 'Return `zuul.pause` when this job runs the buildset registry')
            [CompletionResult]::new('registry', 'registry', [CompletionResultType]::ParameterValue, 'The embedded OCI registry')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'zuul-image;ensure-docker' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Treat DIR as the machine''s `/` for every host file read or written (tests, image builds); host commands such as `systemctl` run only when it is `/`')
            [CompletionResult]::new('--docker-host', '--docker-host', [CompletionResultType]::ParameterName, 'The Docker API socket (default: `/var/run/docker.sock` under `--root`)')
            [CompletionResult]::new('--docker-pidfile', '--docker-pidfile', [CompletionResultType]::ParameterName, 'dockerd''s pidfile, a host path under `--root`')
            [CompletionResult]::new('--dockerd-arg', '--dockerd-arg', [CompletionResultType]::ParameterName, 'An extra argument for `dockerd` when this command starts it without systemd (repeatable), e.g. `--dockerd-arg=--data-root=/srv/docker`')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user to add to the docker group (default: `ansible_user`, else `SUDO_USER`)')
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'zuul-image;run-buildset-registry' {
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Host clients use to reach the registry; an IP address of this machine is also where it listens [var: buildset_registry_host; default: this node''s primary IP address, listening on every interface]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port [var: buildset_registry_port; default: 5000]')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Where to listen when it is not the host: an IP address (`0.0.0.0`, `::` for every interface) or ADDR:PORT [var: buildset_registry_listen; default: the host when it is an IP address of this machine, else every interface (`[::]`, IPv4 too)]')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Directory for config, certificates and storage [var: buildset_registry_root; default: ~/buildset_registry]')
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set')
            [CompletionResult]::new('--stop', '--stop', [CompletionResultType]::ParameterName, 'Stop the registry running from the root instead')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'zuul-image;use-buildset-registry' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Treat DIR as the machine''s `/` for every host file read or written (tests, image builds); host commands such as `systemctl` run only when it is `/`')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'A registry namespace to mirror (repeatable); replaces `buildset_registry_namespaces`')
            [CompletionResult]::new('--docker-user', '--docker-user', [CompletionResultType]::ParameterName, 'Whose `~/.docker/config.json` gets the credentials; wins over `buildset_registry_docker_user` (default: the user running this)')
            [CompletionResult]::new('--docker-host', '--docker-host', [CompletionResultType]::ParameterName, 'The Docker API socket to reload through (default: `/var/run/docker.sock` under `--root`)')
            [CompletionResult]::new('--docker-pidfile', '--docker-pidfile', [CompletionResultType]::ParameterName, 'dockerd''s pidfile, a host path under `--root`')
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'zuul-image;pull-from-intermediate' {
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Blob transfers at once per registry')
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'zuul-image;push-to-intermediate' {
            [CompletionResult]::new('--repository', '--repository', [CompletionResultType]::ParameterName, 'Push this repository instead of the image list in the variables')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'A tag of --repository (repeatable; default `latest`)')
            [CompletionResult]::new('--build', '--build', [CompletionResultType]::ParameterName, 'The build id used in intermediate tags (default: `zuul.build`)')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Blob transfers at once per registry')
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'zuul-image;build-image' {
            [CompletionResult]::new('--family', '--family', [CompletionResultType]::ParameterName, 'Which role family''s variables apply (default: the image list that is defined)')
            [CompletionResult]::new('--repository', '--repository', [CompletionResultType]::ParameterName, 'Build this repository instead of the image list in the variables')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The build context of --repository, relative to the work directory')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'A tag of --repository (repeatable; default `latest`)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The Dockerfile/Containerfile of --repository, relative to its context')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The Dockerfile/Containerfile of --repository, relative to its context')
            [CompletionResult]::new('--path', '--path', [CompletionResultType]::ParameterName, 'The build path argument of --repository, relative to its context')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'The stage of a multi-stage build to build (--repository)')
            [CompletionResult]::new('--build-arg', '--build-arg', [CompletionResultType]::ParameterName, 'A build argument of --repository (repeatable)')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'A label of --repository (repeatable)')
            [CompletionResult]::new('--sibling', '--sibling', [CompletionResultType]::ParameterName, 'A project under `~/src` to stage for --repository (repeatable)')
            [CompletionResult]::new('--arch', '--arch', [CompletionResultType]::ParameterName, 'A platform of --repository (repeatable): a multi-platform build')
            [CompletionResult]::new('--engine', '--engine', [CompletionResultType]::ParameterName, 'The engine of the container family: docker, podman or buildah; wins over `container_command`')
            [CompletionResult]::new('--work-dir', '--work-dir', [CompletionResultType]::ParameterName, 'The directory contexts are relative to; wins over `zuul_work_dir`')
            [CompletionResult]::new('--builder-image', '--builder-image', [CompletionResultType]::ParameterName, 'The BuildKit image of a docker multi-platform builder; wins over `docker_builder_image` / `container_builder_image`')
            [CompletionResult]::new('--docker-host', '--docker-host', [CompletionResultType]::ParameterName, 'The Docker API socket (docker builds)')
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'zuul-image;upload-image' {
            [CompletionResult]::new('--family', '--family', [CompletionResultType]::ParameterName, 'Which roles'' variables apply: `docker` (`docker_images`, ...) or `container` (`container_images`, ...). Default: the list given')
            [CompletionResult]::new('--repository', '--repository', [CompletionResultType]::ParameterName, 'This repository instead of the image list in the variables')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'A tag of --repository (repeatable; default `latest`)')
            [CompletionResult]::new('--docker-host', '--docker-host', [CompletionResultType]::ParameterName, 'The docker daemon to push from when there is no buildset registry (`unix:///PATH`; default: /var/run/docker.sock)')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Blob transfers at once per registry')
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'zuul-image;promote-image' {
            [CompletionResult]::new('--family', '--family', [CompletionResultType]::ParameterName, 'Which roles'' variables apply: `docker` (`docker_images`, ...) or `container` (`container_images`, ...). Default: the list given')
            [CompletionResult]::new('--repository', '--repository', [CompletionResultType]::ParameterName, 'This repository instead of the image list in the variables')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'A tag of --repository (repeatable; default `latest`)')
            [CompletionResult]::new('--method', '--method', [CompletionResultType]::ParameterName, 'How to promote (default: `promote_container_image_method`, else `tag`)')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'The base URL of the registry''s tag API instead of Docker Hub''s (`https://hub.docker.com/v2`) or Quay''s (`https://<registry>/api/v1`): for private deployments and tests. Wins over `remove_registry_tag_api_url`')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Blob transfers at once per registry (`intermediate-registry`)')
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'zuul-image;pause' {
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'zuul-image;registry' {
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the OCI registry in the foreground until SIGTERM or SIGINT')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Remove untagged, unreferenced manifests, blobs and abandoned uploads older than an age, from `--storage DIR` or the buildset registry of `--root DIR`')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop a registry started by `run-buildset-registry`')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'zuul-image;registry;serve' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address and port to listen on; `[::]` also accepts IPv4 clients')
            [CompletionResult]::new('--storage', '--storage', [CompletionResultType]::ParameterName, 'Storage directory (`blobs/`, `repositories/`, `uploads/`; made when missing)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'TLS certificate chain (PEM)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'TLS private key (PEM)')
            [CompletionResult]::new('--htpasswd', '--htpasswd', [CompletionResultType]::ParameterName, 'Users with write access, as bcrypt lines (`htpasswd -B`)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'YAML config: `listen`, `root` or `storage: {s3: {endpoint, bucket, region, prefix, access-key, secret-key}}`, `token-key`, `tls-cert`, `tls-key`, `htpasswd`, `anonymous-read`, `public-url`, `token-ttl`, and `users` (`name`, `password` or `password-hash`, `access: read|write`). Flags win. S3 keys may also come from `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`')
            [CompletionResult]::new('--public-url', '--public-url', [CompletionResultType]::ParameterName, 'Base URL clients reach the registry at, for the token realm (default: taken from each request''s Host)')
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set')
            [CompletionResult]::new('--no-anonymous-read', '--no-anonymous-read', [CompletionResultType]::ParameterName, 'Refuse anonymous pulls (they are allowed by default)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'zuul-image;registry;prune' {
            [CompletionResult]::new('--storage', '--storage', [CompletionResultType]::ParameterName, 'A registry''s storage directory (what `registry serve --storage` serves: `blobs/`, `repositories/`, `uploads/`)')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'A buildset registry''s root (`buildset_registry_root`); prunes its `storage/`')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The registry''s config file, for the storage it names (`root` or `storage.s3`); safe while its servers serve')
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Only remove what is older than this (e.g. `1h`, `7days`)')
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Say what would be removed without removing it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'zuul-image;registry;stop' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'The `buildset_registry_root` the registry was started with')
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'zuul-image;registry;help' {
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the OCI registry in the foreground until SIGTERM or SIGINT')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Remove untagged, unreferenced manifests, blobs and abandoned uploads older than an age, from `--storage DIR` or the buildset registry of `--root DIR`')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop a registry started by `run-buildset-registry`')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'zuul-image;registry;help;serve' {
            break
        }
        'zuul-image;registry;help;prune' {
            break
        }
        'zuul-image;registry;help;stop' {
            break
        }
        'zuul-image;registry;help;help' {
            break
        }
        'zuul-image;completions' {
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'zuul-image;help' {
            [CompletionResult]::new('ensure-docker', 'ensure-docker', [CompletionResultType]::ParameterValue, 'Install (if missing), configure and start Docker')
            [CompletionResult]::new('run-buildset-registry', 'run-buildset-registry', [CompletionResultType]::ParameterValue, 'Start the embedded buildset registry and return its connection data')
            [CompletionResult]::new('use-buildset-registry', 'use-buildset-registry', [CompletionResultType]::ParameterValue, 'Point docker, podman/buildah/cri-o, containerd and buildkit at the buildset registry')
            [CompletionResult]::new('pull-from-intermediate', 'pull-from-intermediate', [CompletionResultType]::ParameterValue, 'Copy the artifact images of the changes ahead into the buildset registry')
            [CompletionResult]::new('push-to-intermediate', 'push-to-intermediate', [CompletionResultType]::ParameterValue, 'Copy this buildset''s images to the intermediate registry and return them as artifacts')
            [CompletionResult]::new('build-image', 'build-image', [CompletionResultType]::ParameterValue, 'Build images (docker/buildx, podman or buildah), tag them and push them to the buildset registry')
            [CompletionResult]::new('upload-image', 'upload-image', [CompletionResultType]::ParameterValue, 'Push images to the final registry under the temporary tag')
            [CompletionResult]::new('promote-image', 'promote-image', [CompletionResultType]::ParameterValue, 'Move the temporary tag to the real tag and delete temporary tags')
            [CompletionResult]::new('pause', 'pause', [CompletionResultType]::ParameterValue, 'Return `zuul.pause` when this job runs the buildset registry')
            [CompletionResult]::new('registry', 'registry', [CompletionResultType]::ParameterValue, 'The embedded OCI registry')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'zuul-image;help;ensure-docker' {
            break
        }
        'zuul-image;help;run-buildset-registry' {
            break
        }
        'zuul-image;help;use-buildset-registry' {
            break
        }
        'zuul-image;help;pull-from-intermediate' {
            break
        }
        'zuul-image;help;push-to-intermediate' {
            break
        }
        'zuul-image;help;build-image' {
            break
        }
        'zuul-image;help;upload-image' {
            break
        }
        'zuul-image;help;promote-image' {
            break
        }
        'zuul-image;help;pause' {
            break
        }
        'zuul-image;help;registry' {
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the OCI registry in the foreground until SIGTERM or SIGINT')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Remove untagged, unreferenced manifests, blobs and abandoned uploads older than an age, from `--storage DIR` or the buildset registry of `--root DIR`')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop a registry started by `run-buildset-registry`')
            break
        }
        'zuul-image;help;registry;serve' {
            break
        }
        'zuul-image;help;registry;prune' {
            break
        }
        'zuul-image;help;registry;stop' {
            break
        }
        'zuul-image;help;completions' {
            break
        }
        'zuul-image;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
