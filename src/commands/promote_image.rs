//! `promote-image`: give the final tag to what was uploaded under the
//! temporary tag, delete the temporary tag and old temporary tags (method
//! `tag`), or copy the gate build's images from the intermediate registry
//! (method `intermediate-registry`): the `promote-docker-image` /
//! `promote-container-image` roles. The steps live in [`super::promote`].

use super::context::Context;
use super::promote::{by_tag, from_intermediate};
use super::upload_image::ImageArgs;
use crate::zuul::inputs::promote::{Method, Promote, PromoteFlags, PromoteMethod};
use crate::zuul::results::ReturnData;

/// Move the temporary tag to the real tag and delete temporary tags.
///
/// Method `tag` (default): for each image and tag, the manifest of
/// `<prefix><tag>` is put under `<tag>` byte for byte (no layer moves) and
/// checked; then the temporary tag is deleted through the registry's own
/// API (Docker Hub's web API, Quay's API with `api_token`, else the
/// distribution API's tag DELETE where the registry allows it; never by
/// digest), and temporary tags (`remove_registry_tag_regex`) older than
/// `remove_registry_tag_age` seconds are cleaned up on Hub and Quay.
/// Failed deletions are warnings. Method `intermediate-registry`: copy
/// each image from the intermediate registry, as the gate build's
/// artifacts in Zuul's builds API (`promote_container_image_api`) name it.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub images: ImageArgs,
    /// How to promote (default: `promote_container_image_method`, else
    /// `tag`).
    #[arg(long, value_enum)]
    pub method: Option<Method>,
    /// The base URL of the registry's tag API instead of Docker Hub's
    /// (`https://hub.docker.com/v2`) or Quay's (`https://<registry>/api/v1`):
    /// for private deployments and tests. Wins over
    /// `remove_registry_tag_api_url`.
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// Blob transfers at once per registry (`intermediate-registry`).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let flags = PromoteFlags {
        images: args.images.flags(),
        method: args.method,
        api_url: args.api_url,
    };
    let Promote { publish, method } = Promote::resolve(&ctx.sources(), &flags)?;
    let warnings = match &method {
        PromoteMethod::Tag(method) => by_tag(ctx, &publish, method).await?,
        PromoteMethod::Intermediate(method) => {
            from_intermediate(ctx, &publish, method, args.jobs.into()).await?;
            Vec::new()
        }
    };
    let mut data = ReturnData::default();
    if !warnings.is_empty() {
        data.set_zuul("warnings", serde_json::to_value(&warnings)?);
    }
    ctx.emit(&data)
}
