
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
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr')
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
            [CompletionResult]::new('build-image', 'build-image', [CompletionResultType]::ParameterValue, 'Build images (docker/buildx or podman), tag them and push them to the buildset registry')
            [CompletionResult]::new('upload-image', 'upload-image', [CompletionResultType]::ParameterValue, 'Push images to the final registry under the temporary tag')
            [CompletionResult]::new('promote-image', 'promote-image', [CompletionResultType]::ParameterValue, 'Move the temporary tag to the real tag and delete temporary tags')
            [CompletionResult]::new('pause', 'pause', [CompletionResultType]::ParameterValue, 'Return `zuul.pause` when this job runs the buildset registry')
            [CompletionResult]::new('registry', 'registry', [CompletionResultType]::ParameterValue, 'The embedded OCI registry')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'zuul-image;ensure-docker' {
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr')
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
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr')
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
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr')
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
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr')
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
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr')
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
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr')
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
        'zuul-image;upload-image' {
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr')
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
        'zuul-image;promote-image' {
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr')
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
        'zuul-image;pause' {
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr')
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
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only warnings and errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v debug, -vv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the OCI registry in the foreground')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'zuul-image;registry;serve' {
            [CompletionResult]::new('--vars', '--vars', [CompletionResultType]::ParameterName, 'Variables as a JSON or YAML mapping (repeatable; later files win per top-level key; `-` reads stdin)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--extra-var', '--extra-var', [CompletionResultType]::ParameterName, 'One variable; VALUE is parsed as JSON when it parses, else kept as a string. Wins over --vars')
            [CompletionResult]::new('--results', '--results', [CompletionResultType]::ParameterName, 'Merge the return data into FILE with zuul_return''s rules (atomic, mode 0600) instead of printing it on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr')
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
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the OCI registry in the foreground')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'zuul-image;registry;help;serve' {
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
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on stderr')
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
            [CompletionResult]::new('build-image', 'build-image', [CompletionResultType]::ParameterValue, 'Build images (docker/buildx or podman), tag them and push them to the buildset registry')
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
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the OCI registry in the foreground')
            break
        }
        'zuul-image;help;registry;serve' {
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
