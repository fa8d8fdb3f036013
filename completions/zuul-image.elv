
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
            cand --color 'Colour on stderr'
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
            cand build-image 'Build images (docker/buildx or podman), tag them and push them to the buildset registry'
            cand upload-image 'Push images to the final registry under the temporary tag'
            cand promote-image 'Move the temporary tag to the real tag and delete temporary tags'
            cand pause 'Return `zuul.pause` when this job runs the buildset registry'
            cand registry 'The embedded OCI registry'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'zuul-image;ensure-docker'= {
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr'
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
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr'
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
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr'
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
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr'
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
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr'
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
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'More diagnostics on stderr (-v debug, -vv trace)'
            cand --verbose 'More diagnostics on stderr (-v debug, -vv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'zuul-image;upload-image'= {
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'More diagnostics on stderr (-v debug, -vv trace)'
            cand --verbose 'More diagnostics on stderr (-v debug, -vv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'zuul-image;promote-image'= {
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'More diagnostics on stderr (-v debug, -vv trace)'
            cand --verbose 'More diagnostics on stderr (-v debug, -vv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'zuul-image;pause'= {
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr'
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
            cand --color 'Colour on stderr'
            cand -q 'Print only warnings and errors'
            cand --quiet 'Print only warnings and errors'
            cand -v 'More diagnostics on stderr (-v debug, -vv trace)'
            cand --verbose 'More diagnostics on stderr (-v debug, -vv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand serve 'Run the OCI registry in the foreground'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'zuul-image;registry;serve'= {
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr'
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
            cand serve 'Run the OCI registry in the foreground'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'zuul-image;registry;help;serve'= {
        }
        &'zuul-image;registry;help;help'= {
        }
        &'zuul-image;completions'= {
            cand --vars 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)'
            cand -e 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --extra-var 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars'
            cand --results 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout'
            cand --color 'Colour on stderr'
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
            cand build-image 'Build images (docker/buildx or podman), tag them and push them to the buildset registry'
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
            cand serve 'Run the OCI registry in the foreground'
        }
        &'zuul-image;help;registry;serve'= {
        }
        &'zuul-image;help;completions'= {
        }
        &'zuul-image;help;help'= {
        }
    ]
    $completions[$command]
}
