
use builtin;
use str;

set edit:completion:arg-completer[zuul-image] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'zuul-image'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'zuul-image'= {
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'More diagnostics on stderr (-v debug, -vv trace)'
            cand --verbose 'More diagnostics on stderr (-v debug, -vv trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand ensure-docker 'Install (if missing), configure and start Docker'
            cand run-buildset-registry 'Start the embedded buildset registry and return its connection data'
            cand use-buildset-registry 'Point docker, podman/buildah/cri-o, containerd and buildkit at the buildset registry'
            cand pull-from-intermediate 'Copy the artifact images of the changes ahead into the buildset registry'
            cand push-to-intermediate 'Copy this buildset''s images to the intermediate registry and return them as artifacts'
            cand build-image 'Build images (docker/buildx, podman or buildah), tag them and push them to the buildset registry'
            cand upload-image 'Push images to the final registry under the temporary tag'
            cand promote-image 'Move the temporary tag to the real tag and delete temporary tags'
            cand pause 'Return `zuul.pause` when this job runs the buildset registry'
            cand registry 'The embedded OCI registry'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'zuul-image;ensure-docker'= {
            cand --root 'Treat DIR as the machine''s `/` for every host file read or written (tests, image builds); host commands such as `systemctl` run only when it is `/`'
            cand --docker-host 'The Docker API socket (default: `/var/run/docker.sock` under `--root`)'
            cand --docker-pidfile 'dockerd''s pidfile, a host path under `--root`'
            cand --dockerd-arg 'An extra argument for `dockerd` when this command starts it without systemd (repeatable), e.g. `--dockerd-arg=--data-root=/srv/docker`'
            cand --user 'The user to add to the docker group (default: `ansible_user`, else `SUDO_USER`)'
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'More diagnostics on stderr (-v debug, -vv trace)'
            cand --verbose 'More diagnostics on stderr (-v debug, -vv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'zuul-image;run-buildset-registry'= {
            cand --host 'Host clients use to reach the registry; an IP address of this machine is also where it listens [var: buildset_registry_host; default: this node''s primary IP address, listening on every interface]'
            cand --port 'Port [var: buildset_registry_port; default: 5000]'
            cand --listen 'Where to listen when it is not the host: an IP address (`0.0.0.0`, `::` for every interface) or ADDR:PORT [var: buildset_registry_listen; default: the host when it is an IP address of this machine, else every interface (`[::]`, IPv4 too)]'
            cand --root 'Directory for config, certificates and storage [var: buildset_registry_root; default: ~/buildset_registry]'
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set'
            cand --stop 'Stop the registry running from the root instead'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'More diagnostics on stderr (-v debug, -vv trace)'
            cand --verbose 'More diagnostics on stderr (-v debug, -vv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'zuul-image;use-buildset-registry'= {
            cand --root 'Treat DIR as the machine''s `/` for every host file read or written (tests, image builds); host commands such as `systemctl` run only when it is `/`'
            cand --namespace 'A registry namespace to mirror (repeatable); replaces `buildset_registry_namespaces`'
            cand --docker-user 'Whose `~/.docker/config.json` gets the credentials; wins over `buildset_registry_docker_user` (default: the user running this)'
            cand --docker-host 'The Docker API socket to reload through (default: `/var/run/docker.sock` under `--root`)'
            cand --docker-pidfile 'dockerd''s pidfile, a host path under `--root`'
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'More diagnostics on stderr (-v debug, -vv trace)'
            cand --verbose 'More diagnostics on stderr (-v debug, -vv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'zuul-image;pull-from-intermediate'= {
            cand --jobs 'Blob transfers at once per registry'
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'More diagnostics on stderr (-v debug, -vv trace)'
            cand --verbose 'More diagnostics on stderr (-v debug, -vv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'zuul-image;push-to-intermediate'= {
            cand --repository 'Push this repository instead of the image list in the variables'
            cand --tag 'A tag of --repository (repeatable; default `latest`)'
            cand --build 'The build id used in intermediate tags (default: `zuul.build`)'
            cand --jobs 'Blob transfers at once per registry'
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'More diagnostics on stderr (-v debug, -vv trace)'
            cand --verbose 'More diagnostics on stderr (-v debug, -vv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'zuul-image;build-image'= {
            cand --family 'Which role family''s variables apply (default: the image list that is defined)'
            cand --repository 'Build this repository instead of the image list in the variables'
            cand --context 'The build context of --repository, relative to the work directory'
            cand --tag 'A tag of --repository (repeatable; default `latest`)'
            cand -f 'The Dockerfile/Containerfile of --repository, relative to its context'
            cand --file 'The Dockerfile/Containerfile of --repository, relative to its context'
            cand --path 'The build path argument of --repository, relative to its context'
            cand --target 'The stage of a multi-stage build to build (--repository)'
            cand --build-arg 'A build argument of --repository (repeatable)'
            cand --label 'A label of --repository (repeatable)'
            cand --sibling 'A project under `~/src` to stage for --repository (repeatable)'
            cand --arch 'A platform of --repository (repeatable): a multi-platform build'
            cand --engine 'The engine of the container family: docker, podman or buildah; wins over `container_command`'
            cand --work-dir 'The directory contexts are relative to; wins over `zuul_work_dir`'
            cand --builder-image 'The BuildKit image of a docker multi-platform builder; wins over `docker_builder_image` / `container_builder_image`'
            cand --docker-host 'The Docker API socket (docker builds)'
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'More diagnostics on stderr (-v debug, -vv trace)'
            cand --verbose 'More diagnostics on stderr (-v debug, -vv trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'zuul-image;upload-image'= {
            cand --family 'Which roles'' variables apply: `docker` (`docker_images`, ...) or `container` (`container_images`, ...). Default: the list given'
            cand --repository 'This repository instead of the image list in the variables'
            cand --tag 'A tag of --repository (repeatable; default `latest`)'
            cand --docker-host 'The docker daemon to push from when there is no buildset registry (`unix:///PATH`; default: /var/run/docker.sock)'
            cand --jobs 'Blob transfers at once per registry'
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'More diagnostics on stderr (-v debug, -vv trace)'
            cand --verbose 'More diagnostics on stderr (-v debug, -vv trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'zuul-image;promote-image'= {
            cand --family 'Which roles'' variables apply: `docker` (`docker_images`, ...) or `container` (`container_images`, ...). Default: the list given'
            cand --repository 'This repository instead of the image list in the variables'
            cand --tag 'A tag of --repository (repeatable; default `latest`)'
            cand --method 'How to promote (default: `promote_container_image_method`, else `tag`)'
            cand --api-url 'The base URL of the registry''s tag API instead of Docker Hub''s (`https://hub.docker.com/v2`) or Quay''s (`https://<registry>/api/v1`): for private deployments and tests. Wins over `remove_registry_tag_api_url`'
            cand --jobs 'Blob transfers at once per registry (`intermediate-registry`)'
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'More diagnostics on stderr (-v debug, -vv trace)'
            cand --verbose 'More diagnostics on stderr (-v debug, -vv trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'zuul-image;pause'= {
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'More diagnostics on stderr (-v debug, -vv trace)'
            cand --verbose 'More diagnostics on stderr (-v debug, -vv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'zuul-image;registry'= {
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'More diagnostics on stderr (-v debug, -vv trace)'
            cand --verbose 'More diagnostics on stderr (-v debug, -vv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand serve 'Run the OCI registry in the foreground until SIGTERM or SIGINT'
            cand prune 'Remove untagged, unreferenced manifests, blobs and abandoned uploads older than an age, from `--storage DIR` or the buildset registry of `--root DIR`'
            cand stop 'Stop a registry started by `run-buildset-registry`'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'zuul-image;registry;serve'= {
            cand --listen 'Address and port to listen on; `[::]` also accepts IPv4 clients'
            cand --storage 'Storage directory (`blobs/`, `repositories/`, `uploads/`; made when missing)'
            cand --tls-cert 'TLS certificate chain (PEM)'
            cand --tls-key 'TLS private key (PEM)'
            cand --htpasswd 'Users with write access, as bcrypt lines (`htpasswd -B`)'
            cand --config 'YAML config: `listen`, `root` or `storage: {s3: {endpoint, bucket, region, prefix, access-key, secret-key}}`, `token-key`, `tls-cert`, `tls-key`, `htpasswd`, `anonymous-read`, `public-url`, `token-ttl`, and `users` (`name`, `password` or `password-hash`, `access: read|write`). Flags win. S3 keys may also come from `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`'
            cand --public-url 'Base URL clients reach the registry at, for the token realm (default: taken from each request''s Host)'
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set'
            cand --no-anonymous-read 'Refuse anonymous pulls (they are allowed by default)'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'More diagnostics on stderr (-v debug, -vv trace)'
            cand --verbose 'More diagnostics on stderr (-v debug, -vv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'zuul-image;registry;prune'= {
            cand --storage 'A registry''s storage directory (what `registry serve --storage` serves: `blobs/`, `repositories/`, `uploads/`)'
            cand --root 'A buildset registry''s root (`buildset_registry_root`); prunes its `storage/`'
            cand --config 'The registry''s config file, for the storage it names (`root` or `storage.s3`); safe while its servers serve'
            cand --older-than 'Only remove what is older than this (e.g. `1h`, `7days`)'
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set'
            cand --dry-run 'Say what would be removed without removing it'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'More diagnostics on stderr (-v debug, -vv trace)'
            cand --verbose 'More diagnostics on stderr (-v debug, -vv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'zuul-image;registry;stop'= {
            cand --root 'The `buildset_registry_root` the registry was started with'
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'More diagnostics on stderr (-v debug, -vv trace)'
            cand --verbose 'More diagnostics on stderr (-v debug, -vv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'zuul-image;registry;help'= {
            cand serve 'Run the OCI registry in the foreground until SIGTERM or SIGINT'
            cand prune 'Remove untagged, unreferenced manifests, blobs and abandoned uploads older than an age, from `--storage DIR` or the buildset registry of `--root DIR`'
            cand stop 'Stop a registry started by `run-buildset-registry`'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'zuul-image;registry;help;serve'= {
        }
        &'zuul-image;registry;help;prune'= {
        }
        &'zuul-image;registry;help;stop'= {
        }
        &'zuul-image;registry;help;help'= {
        }
        &'zuul-image;completions'= {
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr; `auto`: only when stderr is a terminal and `NO_COLOR` is not set'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'More diagnostics on stderr (-v debug, -vv trace)'
            cand --verbose 'More diagnostics on stderr (-v debug, -vv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'zuul-image;help'= {
            cand ensure-docker 'Install (if missing), configure and start Docker'
            cand run-buildset-registry 'Start the embedded buildset registry and return its connection data'
            cand use-buildset-registry 'Point docker, podman/buildah/cri-o, containerd and buildkit at the buildset registry'
            cand pull-from-intermediate 'Copy the artifact images of the changes ahead into the buildset registry'
            cand push-to-intermediate 'Copy this buildset''s images to the intermediate registry and return them as artifacts'
            cand build-image 'Build images (docker/buildx, podman or buildah), tag them and push them to the buildset registry'
            cand upload-image 'Push images to the final registry under the temporary tag'
            cand promote-image 'Move the temporary tag to the real tag and delete temporary tags'
            cand pause 'Return `zuul.pause` when this job runs the buildset registry'
            cand registry 'The embedded OCI registry'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'zuul-image;help;ensure-docker'= {
        }
        &'zuul-image;help;run-buildset-registry'= {
        }
        &'zuul-image;help;use-buildset-registry'= {
        }
        &'zuul-image;help;pull-from-intermediate'= {
        }
        &'zuul-image;help;push-to-intermediate'= {
        }
        &'zuul-image;help;build-image'= {
        }
        &'zuul-image;help;upload-image'= {
        }
        &'zuul-image;help;promote-image'= {
        }
        &'zuul-image;help;pause'= {
        }
        &'zuul-image;help;registry'= {
            cand serve 'Run the OCI registry in the foreground until SIGTERM or SIGINT'
            cand prune 'Remove untagged, unreferenced manifests, blobs and abandoned uploads older than an age, from `--storage DIR` or the buildset registry of `--root DIR`'
            cand stop 'Stop a registry started by `run-buildset-registry`'
        }
        &'zuul-image;help;registry;serve'= {
        }
        &'zuul-image;help;registry;prune'= {
        }
        &'zuul-image;help;registry;stop'= {
        }
        &'zuul-image;help;completions'= {
        }
        &'zuul-image;help;help'= {
        }
    ]
    $completions[$command]
}
