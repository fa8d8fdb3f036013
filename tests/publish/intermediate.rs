//! `promote-image --method intermediate-registry`, its copy against real
//! registries: an answer of Zuul's builds API (the recorded shape, its
//! artifact URLs pointing at a real intermediate distribution) is mapped
//! and every image copied to its final tag, the whole index byte-exact.
//! The query and the mapping are unit-tested in `zuul::builds`; the
//! request to a real Zuul belongs to the real-Zuul test.

use super::{final_registry, push_index};
use crate::support::distribution::Distribution;
use crate::support::images;
use serde_json::json;
use zuul_image::commands::context::Context;
use zuul_image::commands::promote::copy_gate_images;
use zuul_image::output::{Color, Printer};
use zuul_image::zuul::builds::GateImages;
use zuul_image::zuul::inputs::Env;
use zuul_image::zuul::inputs::publish::{ImageFlags, Publish};
use zuul_image::zuul::registries::IntermediateRegistry;
use zuul_image::zuul::vars::Vars;

const BUILD: &str = "5e0c1d2b3a4f4e6d8c7b9a0f1e2d3c4b";

#[tokio::test]
#[ignore = "needs real components: run tests/run-all.sh"]
async fn the_gate_builds_images_are_copied_from_the_intermediate_registry() {
    let intermediate = Distribution::start();
    let target = final_registry();
    // The docker family: the intermediate registry holds `org/app` (a
    // repository naming a registry with a port cannot be a path there).
    let repository = "org/app";
    let index = push_index(&intermediate, &format!("{repository}:{BUILD}_latest"));
    let url = |tag: &str| {
        format!(
            "docker://{}/{repository}:{BUILD}_{tag}",
            intermediate.address()
        )
    };
    let answer = json!([{
        "uuid": BUILD, "job_name": "upload-image", "result": "SUCCESS",
        "artifacts": [
            {"name": format!("{repository}:latest"), "url": url("latest"),
             "metadata": {"type": "container_image", "repository": repository, "tag": "latest"}},
        ],
        "ref": {"project": "org/app", "change": 1003, "patchset": "2"},
    }]);
    let gate = GateImages::from_answer("builds?change=1003", &answer).unwrap();

    let mut vars = Vars::default();
    vars.set("zuul", json!({"change": 1003, "patchset": 2}), "vars.json");
    vars.set(
        "docker_images",
        json!([{"repository": repository}]),
        "vars.json",
    );
    vars.set("docker_registry", json!(target.address()), "vars.json");
    vars.set(
        "docker_credentials",
        json!({"username": target.username, "password": target.password, "cert": target.certs.ca_pem}),
        "vars.json",
    );
    vars.set(
        "intermediate_registry",
        intermediate.intermediate_registry_var(),
        "vars.json",
    );
    let publish = Publish::resolve(&vars, &ImageFlags::default(), "promote-image").unwrap();
    let intermediate_var = IntermediateRegistry::from_vars(&vars, "promote-image").unwrap();
    let home = tempfile::tempdir().unwrap();
    let ctx = Context {
        vars,
        env: Env {
            home: Some(home.path().to_owned()),
            ..Env::default()
        },
        printer: Printer::new(false, Color::Never, true),
        results: None,
    };
    copy_gate_images(&ctx, &publish, &gate, Some(&intermediate_var), 8)
        .await
        .unwrap();
    assert_eq!(
        images::raw_manifest(&target, "org/app:latest").unwrap(),
        index
    );

    // A tag the gate build has no artifact for: nothing is copied.
    let mut vars = ctx.vars.clone();
    vars.set(
        "docker_images",
        json!([{"repository": repository, "tags": ["v2", "latest"]}]),
        "vars.json",
    );
    let publish = Publish::resolve(&vars, &ImageFlags::default(), "promote-image").unwrap();
    let err = copy_gate_images(&ctx, &publish, &gate, Some(&intermediate_var), 8)
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains(&format!(
            "no `container_image` artifact for `{repository}:v2`"
        )),
        "{err:#}"
    );
}
