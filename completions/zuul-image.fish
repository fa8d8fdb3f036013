# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_zuul_image_global_optspecs
    string join \n vars= e/extra-var= results= q/quiet v/verbose color= h/help V/version
end

function __fish_zuul_image_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_zuul_image_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_zuul_image_using_subcommand
    set -l cmd (__fish_zuul_image_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c zuul-image -n "__fish_zuul_image_needs_command" -l vars -d 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)' -r -F
complete -c zuul-image -n "__fish_zuul_image_needs_command" -s e -l extra-var -d 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars' -r
complete -c zuul-image -n "__fish_zuul_image_needs_command" -l results -d 'Merge the return data into FILE with zuul_return\'s rules (atomic, mode 0600) instead of printing it on stdout' -r -F
complete -c zuul-image -n "__fish_zuul_image_needs_command" -l color -d 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zuul-image -n "__fish_zuul_image_needs_command" -s q -l quiet -d 'Print only warnings and errors'
complete -c zuul-image -n "__fish_zuul_image_needs_command" -s v -l verbose -d 'More diagnostics on stderr (-v debug, -vv trace)'
complete -c zuul-image -n "__fish_zuul_image_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c zuul-image -n "__fish_zuul_image_needs_command" -s V -l version -d 'Print version'
complete -c zuul-image -n "__fish_zuul_image_needs_command" -f -a "ensure-docker" -d 'Install (if missing), configure and start Docker'
complete -c zuul-image -n "__fish_zuul_image_needs_command" -f -a "run-buildset-registry" -d 'Start the embedded buildset registry and return its connection data'
complete -c zuul-image -n "__fish_zuul_image_needs_command" -f -a "use-buildset-registry" -d 'Point docker, podman/buildah/cri-o, containerd and buildkit at the buildset registry'
complete -c zuul-image -n "__fish_zuul_image_needs_command" -f -a "pull-from-intermediate" -d 'Copy the artifact images of the changes ahead into the buildset registry'
complete -c zuul-image -n "__fish_zuul_image_needs_command" -f -a "push-to-intermediate" -d 'Copy this buildset\'s images to the intermediate registry and return them as artifacts'
complete -c zuul-image -n "__fish_zuul_image_needs_command" -f -a "build-image" -d 'Build images (docker/buildx, podman or buildah), tag them and push them to the buildset registry'
complete -c zuul-image -n "__fish_zuul_image_needs_command" -f -a "upload-image" -d 'Push images to the final registry under the temporary tag'
complete -c zuul-image -n "__fish_zuul_image_needs_command" -f -a "promote-image" -d 'Move the temporary tag to the real tag and delete temporary tags'
complete -c zuul-image -n "__fish_zuul_image_needs_command" -f -a "pause" -d 'Return `zuul.pause` when this job runs the buildset registry'
complete -c zuul-image -n "__fish_zuul_image_needs_command" -f -a "registry" -d 'The embedded OCI registry'
complete -c zuul-image -n "__fish_zuul_image_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c zuul-image -n "__fish_zuul_image_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand ensure-docker" -l root -d 'Treat DIR as the machine\'s `/` for every host file read or written (tests, image builds); host commands such as `systemctl` run only when it is `/`' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand ensure-docker" -l docker-host -d 'The Docker API socket (default: `/var/run/docker.sock` under `--root`)' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand ensure-docker" -l docker-pidfile -d 'dockerd\'s pidfile, a host path under `--root`' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand ensure-docker" -l dockerd-arg -d 'An extra argument for `dockerd` when this command starts it without systemd (repeatable), e.g. `--dockerd-arg=--data-root=/srv/docker`' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand ensure-docker" -l user -d 'The user to add to the docker group (default: `ansible_user`, else `SUDO_USER`)' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand ensure-docker" -l vars -d 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand ensure-docker" -s e -l extra-var -d 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand ensure-docker" -l results -d 'Merge the return data into FILE with zuul_return\'s rules (atomic, mode 0600) instead of printing it on stdout' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand ensure-docker" -l color -d 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zuul-image -n "__fish_zuul_image_using_subcommand ensure-docker" -s q -l quiet -d 'Print only warnings and errors'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand ensure-docker" -s v -l verbose -d 'More diagnostics on stderr (-v debug, -vv trace)'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand ensure-docker" -s h -l help -d 'Print help'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand ensure-docker" -s V -l version -d 'Print version'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand run-buildset-registry" -l host -d 'Host clients use to reach the registry; an IP address of this machine is also where it listens [var: buildset_registry_host; default: this node\'s primary IP address, listening on every interface]' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand run-buildset-registry" -l port -d 'Port [var: buildset_registry_port; default: 5000]' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand run-buildset-registry" -l listen -d 'Where to listen when it is not the host: an IP address (`0.0.0.0`, `::` for every interface) or ADDR:PORT [var: buildset_registry_listen; default: the host when it is an IP address of this machine, else every interface (`[::]`, IPv4 too)]' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand run-buildset-registry" -l root -d 'Directory for config, certificates and storage [var: buildset_registry_root; default: ~/buildset_registry]' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand run-buildset-registry" -l vars -d 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand run-buildset-registry" -s e -l extra-var -d 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand run-buildset-registry" -l results -d 'Merge the return data into FILE with zuul_return\'s rules (atomic, mode 0600) instead of printing it on stdout' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand run-buildset-registry" -l color -d 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zuul-image -n "__fish_zuul_image_using_subcommand run-buildset-registry" -l stop -d 'Stop the registry running from the root instead'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand run-buildset-registry" -s q -l quiet -d 'Print only warnings and errors'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand run-buildset-registry" -s v -l verbose -d 'More diagnostics on stderr (-v debug, -vv trace)'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand run-buildset-registry" -s h -l help -d 'Print help'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand run-buildset-registry" -s V -l version -d 'Print version'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand use-buildset-registry" -l root -d 'Treat DIR as the machine\'s `/` for every host file read or written (tests, image builds); host commands such as `systemctl` run only when it is `/`' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand use-buildset-registry" -l namespace -d 'A registry namespace to mirror (repeatable); replaces `buildset_registry_namespaces`' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand use-buildset-registry" -l docker-user -d 'Whose `~/.docker/config.json` gets the credentials; wins over `buildset_registry_docker_user` (default: the user running this)' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand use-buildset-registry" -l docker-host -d 'The Docker API socket to reload through (default: `/var/run/docker.sock` under `--root`)' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand use-buildset-registry" -l docker-pidfile -d 'dockerd\'s pidfile, a host path under `--root`' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand use-buildset-registry" -l vars -d 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand use-buildset-registry" -s e -l extra-var -d 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand use-buildset-registry" -l results -d 'Merge the return data into FILE with zuul_return\'s rules (atomic, mode 0600) instead of printing it on stdout' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand use-buildset-registry" -l color -d 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zuul-image -n "__fish_zuul_image_using_subcommand use-buildset-registry" -s q -l quiet -d 'Print only warnings and errors'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand use-buildset-registry" -s v -l verbose -d 'More diagnostics on stderr (-v debug, -vv trace)'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand use-buildset-registry" -s h -l help -d 'Print help'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand use-buildset-registry" -s V -l version -d 'Print version'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand pull-from-intermediate" -l jobs -d 'Blob transfers at once per registry' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand pull-from-intermediate" -l vars -d 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand pull-from-intermediate" -s e -l extra-var -d 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand pull-from-intermediate" -l results -d 'Merge the return data into FILE with zuul_return\'s rules (atomic, mode 0600) instead of printing it on stdout' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand pull-from-intermediate" -l color -d 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zuul-image -n "__fish_zuul_image_using_subcommand pull-from-intermediate" -s q -l quiet -d 'Print only warnings and errors'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand pull-from-intermediate" -s v -l verbose -d 'More diagnostics on stderr (-v debug, -vv trace)'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand pull-from-intermediate" -s h -l help -d 'Print help'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand pull-from-intermediate" -s V -l version -d 'Print version'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand push-to-intermediate" -l repository -d 'Push this repository instead of the image list in the variables' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand push-to-intermediate" -l tag -d 'A tag of --repository (repeatable; default `latest`)' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand push-to-intermediate" -l build -d 'The build id used in intermediate tags (default: `zuul.build`)' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand push-to-intermediate" -l jobs -d 'Blob transfers at once per registry' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand push-to-intermediate" -l vars -d 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand push-to-intermediate" -s e -l extra-var -d 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand push-to-intermediate" -l results -d 'Merge the return data into FILE with zuul_return\'s rules (atomic, mode 0600) instead of printing it on stdout' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand push-to-intermediate" -l color -d 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zuul-image -n "__fish_zuul_image_using_subcommand push-to-intermediate" -s q -l quiet -d 'Print only warnings and errors'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand push-to-intermediate" -s v -l verbose -d 'More diagnostics on stderr (-v debug, -vv trace)'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand push-to-intermediate" -s h -l help -d 'Print help'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand push-to-intermediate" -s V -l version -d 'Print version'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -l family -d 'Which role family\'s variables apply (default: the image list that is defined)' -r -f -a "docker\t'`build-docker-image`, `upload-docker-image`, `promote-docker-image`'
container\t'`build-container-image`, `upload-container-image`, `promote-container-image`'"
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -l repository -d 'Build this repository instead of the image list in the variables' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -l context -d 'The build context of --repository, relative to the work directory' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -l tag -d 'A tag of --repository (repeatable; default `latest`)' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -s f -l file -d 'The Dockerfile/Containerfile of --repository, relative to its context' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -l path -d 'The build path argument of --repository, relative to its context' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -l target -d 'The stage of a multi-stage build to build (--repository)' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -l build-arg -d 'A build argument of --repository (repeatable)' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -l label -d 'A label of --repository (repeatable)' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -l sibling -d 'A project under `~/src` to stage for --repository (repeatable)' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -l arch -d 'A platform of --repository (repeatable): a multi-platform build' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -l engine -d 'The engine of the container family: docker, podman or buildah; wins over `container_command`' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -l work-dir -d 'The directory contexts are relative to; wins over `zuul_work_dir`' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -l builder-image -d 'The BuildKit image of a docker multi-platform builder; wins over `docker_builder_image` / `container_builder_image`' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -l docker-host -d 'The Docker API socket (docker builds)' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -l vars -d 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -s e -l extra-var -d 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -l results -d 'Merge the return data into FILE with zuul_return\'s rules (atomic, mode 0600) instead of printing it on stdout' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -l color -d 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -s q -l quiet -d 'Print only warnings and errors'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -s v -l verbose -d 'More diagnostics on stderr (-v debug, -vv trace)'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand build-image" -s V -l version -d 'Print version'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand upload-image" -l family -d 'Which roles\' variables apply: `docker` (`docker_images`, ...) or `container` (`container_images`, ...). Default: the list given' -r -f -a "docker\t'`build-docker-image`, `upload-docker-image`, `promote-docker-image`'
container\t'`build-container-image`, `upload-container-image`, `promote-container-image`'"
complete -c zuul-image -n "__fish_zuul_image_using_subcommand upload-image" -l repository -d 'This repository instead of the image list in the variables' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand upload-image" -l tag -d 'A tag of --repository (repeatable; default `latest`)' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand upload-image" -l docker-host -d 'The docker daemon to push from when there is no buildset registry (`unix:///PATH`; default: /var/run/docker.sock)' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand upload-image" -l jobs -d 'Blob transfers at once per registry' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand upload-image" -l vars -d 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand upload-image" -s e -l extra-var -d 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand upload-image" -l results -d 'Merge the return data into FILE with zuul_return\'s rules (atomic, mode 0600) instead of printing it on stdout' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand upload-image" -l color -d 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zuul-image -n "__fish_zuul_image_using_subcommand upload-image" -s q -l quiet -d 'Print only warnings and errors'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand upload-image" -s v -l verbose -d 'More diagnostics on stderr (-v debug, -vv trace)'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand upload-image" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand upload-image" -s V -l version -d 'Print version'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand promote-image" -l family -d 'Which roles\' variables apply: `docker` (`docker_images`, ...) or `container` (`container_images`, ...). Default: the list given' -r -f -a "docker\t'`build-docker-image`, `upload-docker-image`, `promote-docker-image`'
container\t'`build-container-image`, `upload-container-image`, `promote-container-image`'"
complete -c zuul-image -n "__fish_zuul_image_using_subcommand promote-image" -l repository -d 'This repository instead of the image list in the variables' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand promote-image" -l tag -d 'A tag of --repository (repeatable; default `latest`)' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand promote-image" -l method -d 'How to promote (default: `promote_container_image_method`, else `tag`)' -r -f -a "tag\t'Retag the temporary tag in the final registry'
intermediate-registry\t'Copy from the intermediate registry, as Zuul\'s builds API says'"
complete -c zuul-image -n "__fish_zuul_image_using_subcommand promote-image" -l api-url -d 'The base URL of the registry\'s tag API instead of Docker Hub\'s (`https://hub.docker.com/v2`) or Quay\'s (`https://<registry>/api/v1`): for private deployments and tests. Wins over `remove_registry_tag_api_url`' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand promote-image" -l jobs -d 'Blob transfers at once per registry (`intermediate-registry`)' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand promote-image" -l vars -d 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand promote-image" -s e -l extra-var -d 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand promote-image" -l results -d 'Merge the return data into FILE with zuul_return\'s rules (atomic, mode 0600) instead of printing it on stdout' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand promote-image" -l color -d 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zuul-image -n "__fish_zuul_image_using_subcommand promote-image" -s q -l quiet -d 'Print only warnings and errors'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand promote-image" -s v -l verbose -d 'More diagnostics on stderr (-v debug, -vv trace)'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand promote-image" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand promote-image" -s V -l version -d 'Print version'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand pause" -l vars -d 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand pause" -s e -l extra-var -d 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand pause" -l results -d 'Merge the return data into FILE with zuul_return\'s rules (atomic, mode 0600) instead of printing it on stdout' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand pause" -l color -d 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zuul-image -n "__fish_zuul_image_using_subcommand pause" -s q -l quiet -d 'Print only warnings and errors'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand pause" -s v -l verbose -d 'More diagnostics on stderr (-v debug, -vv trace)'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand pause" -s h -l help -d 'Print help'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand pause" -s V -l version -d 'Print version'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and not __fish_seen_subcommand_from serve prune stop help" -l vars -d 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and not __fish_seen_subcommand_from serve prune stop help" -s e -l extra-var -d 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and not __fish_seen_subcommand_from serve prune stop help" -l results -d 'Merge the return data into FILE with zuul_return\'s rules (atomic, mode 0600) instead of printing it on stdout' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and not __fish_seen_subcommand_from serve prune stop help" -l color -d 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and not __fish_seen_subcommand_from serve prune stop help" -s q -l quiet -d 'Print only warnings and errors'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and not __fish_seen_subcommand_from serve prune stop help" -s v -l verbose -d 'More diagnostics on stderr (-v debug, -vv trace)'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and not __fish_seen_subcommand_from serve prune stop help" -s h -l help -d 'Print help'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and not __fish_seen_subcommand_from serve prune stop help" -s V -l version -d 'Print version'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and not __fish_seen_subcommand_from serve prune stop help" -f -a "serve" -d 'Run the OCI registry in the foreground until SIGTERM or SIGINT'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and not __fish_seen_subcommand_from serve prune stop help" -f -a "prune" -d 'Remove untagged, unreferenced manifests, blobs and abandoned uploads older than an age, from `--storage DIR` or the buildset registry of `--root DIR`'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and not __fish_seen_subcommand_from serve prune stop help" -f -a "stop" -d 'Stop a registry started by `run-buildset-registry`'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and not __fish_seen_subcommand_from serve prune stop help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from serve" -l listen -d 'Address and port to listen on; `[::]` also accepts IPv4 clients' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from serve" -l storage -d 'Storage directory (`blobs/`, `repositories/`, `uploads/`; made when missing)' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from serve" -l tls-cert -d 'TLS certificate chain (PEM)' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from serve" -l tls-key -d 'TLS private key (PEM)' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from serve" -l htpasswd -d 'Users with write access, as bcrypt lines (`htpasswd -B`)' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from serve" -l config -d 'YAML config: `listen`, `root` or `storage: {s3: {endpoint, bucket, region, prefix, access-key, secret-key}}`, `token-key`, `tls-cert`, `tls-key`, `htpasswd`, `anonymous-read`, `public-url`, `token-ttl`, and `users` (`name`, `password` or `password-hash`, `access: read|write`). Flags win. S3 keys may also come from `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from serve" -l public-url -d 'Base URL clients reach the registry at, for the token realm (default: taken from each request\'s Host)' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from serve" -l vars -d 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from serve" -s e -l extra-var -d 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from serve" -l results -d 'Merge the return data into FILE with zuul_return\'s rules (atomic, mode 0600) instead of printing it on stdout' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from serve" -l color -d 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from serve" -l no-anonymous-read -d 'Refuse anonymous pulls (they are allowed by default)'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from serve" -s q -l quiet -d 'Print only warnings and errors'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from serve" -s v -l verbose -d 'More diagnostics on stderr (-v debug, -vv trace)'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from serve" -s h -l help -d 'Print help'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from serve" -s V -l version -d 'Print version'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from prune" -l storage -d 'A registry\'s storage directory (what `registry serve --storage` serves: `blobs/`, `repositories/`, `uploads/`)' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from prune" -l root -d 'A buildset registry\'s root (`buildset_registry_root`); prunes its `storage/`' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from prune" -l config -d 'The registry\'s config file, for the storage it names (`root` or `storage.s3`); safe while its servers serve' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from prune" -l older-than -d 'Only remove what is older than this (e.g. `1h`, `7days`)' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from prune" -l vars -d 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from prune" -s e -l extra-var -d 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from prune" -l results -d 'Merge the return data into FILE with zuul_return\'s rules (atomic, mode 0600) instead of printing it on stdout' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from prune" -l color -d 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from prune" -l dry-run -d 'Say what would be removed without removing it'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from prune" -s q -l quiet -d 'Print only warnings and errors'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from prune" -s v -l verbose -d 'More diagnostics on stderr (-v debug, -vv trace)'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from prune" -s V -l version -d 'Print version'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from stop" -l root -d 'The `buildset_registry_root` the registry was started with' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from stop" -l vars -d 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from stop" -s e -l extra-var -d 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from stop" -l results -d 'Merge the return data into FILE with zuul_return\'s rules (atomic, mode 0600) instead of printing it on stdout' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from stop" -l color -d 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from stop" -s q -l quiet -d 'Print only warnings and errors'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from stop" -s v -l verbose -d 'More diagnostics on stderr (-v debug, -vv trace)'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from stop" -s h -l help -d 'Print help'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from stop" -s V -l version -d 'Print version'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from help" -f -a "serve" -d 'Run the OCI registry in the foreground until SIGTERM or SIGINT'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Remove untagged, unreferenced manifests, blobs and abandoned uploads older than an age, from `--storage DIR` or the buildset registry of `--root DIR`'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from help" -f -a "stop" -d 'Stop a registry started by `run-buildset-registry`'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand registry; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand completions" -l vars -d 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand completions" -s e -l extra-var -d 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars' -r
complete -c zuul-image -n "__fish_zuul_image_using_subcommand completions" -l results -d 'Merge the return data into FILE with zuul_return\'s rules (atomic, mode 0600) instead of printing it on stdout' -r -F
complete -c zuul-image -n "__fish_zuul_image_using_subcommand completions" -l color -d 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zuul-image -n "__fish_zuul_image_using_subcommand completions" -s q -l quiet -d 'Print only warnings and errors'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand completions" -s v -l verbose -d 'More diagnostics on stderr (-v debug, -vv trace)'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand completions" -s h -l help -d 'Print help'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand completions" -s V -l version -d 'Print version'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand help; and not __fish_seen_subcommand_from ensure-docker run-buildset-registry use-buildset-registry pull-from-intermediate push-to-intermediate build-image upload-image promote-image pause registry completions help" -f -a "ensure-docker" -d 'Install (if missing), configure and start Docker'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand help; and not __fish_seen_subcommand_from ensure-docker run-buildset-registry use-buildset-registry pull-from-intermediate push-to-intermediate build-image upload-image promote-image pause registry completions help" -f -a "run-buildset-registry" -d 'Start the embedded buildset registry and return its connection data'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand help; and not __fish_seen_subcommand_from ensure-docker run-buildset-registry use-buildset-registry pull-from-intermediate push-to-intermediate build-image upload-image promote-image pause registry completions help" -f -a "use-buildset-registry" -d 'Point docker, podman/buildah/cri-o, containerd and buildkit at the buildset registry'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand help; and not __fish_seen_subcommand_from ensure-docker run-buildset-registry use-buildset-registry pull-from-intermediate push-to-intermediate build-image upload-image promote-image pause registry completions help" -f -a "pull-from-intermediate" -d 'Copy the artifact images of the changes ahead into the buildset registry'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand help; and not __fish_seen_subcommand_from ensure-docker run-buildset-registry use-buildset-registry pull-from-intermediate push-to-intermediate build-image upload-image promote-image pause registry completions help" -f -a "push-to-intermediate" -d 'Copy this buildset\'s images to the intermediate registry and return them as artifacts'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand help; and not __fish_seen_subcommand_from ensure-docker run-buildset-registry use-buildset-registry pull-from-intermediate push-to-intermediate build-image upload-image promote-image pause registry completions help" -f -a "build-image" -d 'Build images (docker/buildx, podman or buildah), tag them and push them to the buildset registry'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand help; and not __fish_seen_subcommand_from ensure-docker run-buildset-registry use-buildset-registry pull-from-intermediate push-to-intermediate build-image upload-image promote-image pause registry completions help" -f -a "upload-image" -d 'Push images to the final registry under the temporary tag'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand help; and not __fish_seen_subcommand_from ensure-docker run-buildset-registry use-buildset-registry pull-from-intermediate push-to-intermediate build-image upload-image promote-image pause registry completions help" -f -a "promote-image" -d 'Move the temporary tag to the real tag and delete temporary tags'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand help; and not __fish_seen_subcommand_from ensure-docker run-buildset-registry use-buildset-registry pull-from-intermediate push-to-intermediate build-image upload-image promote-image pause registry completions help" -f -a "pause" -d 'Return `zuul.pause` when this job runs the buildset registry'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand help; and not __fish_seen_subcommand_from ensure-docker run-buildset-registry use-buildset-registry pull-from-intermediate push-to-intermediate build-image upload-image promote-image pause registry completions help" -f -a "registry" -d 'The embedded OCI registry'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand help; and not __fish_seen_subcommand_from ensure-docker run-buildset-registry use-buildset-registry pull-from-intermediate push-to-intermediate build-image upload-image promote-image pause registry completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand help; and not __fish_seen_subcommand_from ensure-docker run-buildset-registry use-buildset-registry pull-from-intermediate push-to-intermediate build-image upload-image promote-image pause registry completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand help; and __fish_seen_subcommand_from registry" -f -a "serve" -d 'Run the OCI registry in the foreground until SIGTERM or SIGINT'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand help; and __fish_seen_subcommand_from registry" -f -a "prune" -d 'Remove untagged, unreferenced manifests, blobs and abandoned uploads older than an age, from `--storage DIR` or the buildset registry of `--root DIR`'
complete -c zuul-image -n "__fish_zuul_image_using_subcommand help; and __fish_seen_subcommand_from registry" -f -a "stop" -d 'Stop a registry started by `run-buildset-registry`'
