//! Pushing a bundle, and its detached signature as a referrer.

use super::*;

/// Pushes `bundle` (and a detached `signature`) to `to`.
pub fn push(
    bundle: &[u8],
    signature: Option<&[u8]>,
    labels: &BundleLabels,
    to: &OciRef,
    transport: &Transport,
) -> Result<Pushed, DistributionError> {
    if to.digest().is_some() {
        return Err(DistributionError::Reference(format!(
            "{to}: push to a tag, not a digest (the digest is the registry's answer)"
        )));
    }
    let client = transport.oci_client()?;
    let to = &to.over(transport);
    runtime()?.block_on(async {
        let layer_digest = oci_digest(bundle);
        let config = serde_json::to_vec(&json!({
            "created": labels.created_at,
            "architecture": "wasm",
            "os": "wasip2",
            "layerDigests": [layer_digest],
        }))
        .expect("JSON");
        let config_digest = oci_digest(&config);
        let target = &to.reference;
        client
            .push_blob(target, bundle.to_vec(), &layer_digest)
            .await
            .map_err(remote("pushing the bundle to", to))?;
        client
            .push_blob(target, config.clone(), &config_digest)
            .await
            .map_err(remote("pushing the config to", to))?;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_IMAGE_MEDIA_TYPE,
            "config": {"mediaType": WASM_CONFIG, "digest": config_digest, "size": config.len()},
            "layers": [{
                "mediaType": WASM_LAYER,
                "digest": layer_digest,
                "size": bundle.len(),
                "annotations": {"org.opencontainers.image.title": format!("{}.wasm", labels.name)},
            }],
            "annotations": {
                ANNOTATION_NAME: labels.name,
                ANNOTATION_REVISION: labels.revision.to_string(),
                ANNOTATION_CREATED: labels.created_at,
                "org.opencontainers.image.title": labels.name,
                "org.opencontainers.image.version": labels.revision.to_string(),
            },
        });
        let manifest = serde_json::to_vec(&manifest).expect("JSON");
        let digest = oci_digest(&manifest);
        client
            .push_manifest_raw(
                target,
                manifest.clone(),
                OCI_IMAGE_MEDIA_TYPE.parse().unwrap(),
            )
            .await
            .map_err(remote("pushing the manifest to", to))?;
        let signature_digest = match signature {
            Some(signature) => {
                Some(push_signature(&client, to, signature, &digest, manifest.len()).await?)
            }
            None => None,
        };
        Ok(Pushed {
            digest,
            signature_digest,
        })
    })
}

/// Pushes `signature` as a referrer of the manifest `subject`, and lists it
/// in the referrers tag schema's index.
async fn push_signature(
    client: &oci_client::Client,
    to: &OciRef,
    signature: &[u8],
    subject: &str,
    subject_size: usize,
) -> Result<String, DistributionError> {
    let empty = b"{}".to_vec();
    let empty_digest = oci_digest(&empty);
    let signature_digest = oci_digest(signature);
    let base = &to.reference;
    client
        .push_blob(base, empty.clone(), &empty_digest)
        .await
        .map_err(remote("pushing the signature's config to", to))?;
    client
        .push_blob(base, signature.to_vec(), &signature_digest)
        .await
        .map_err(remote("pushing the signature to", to))?;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_IMAGE_MEDIA_TYPE,
        "artifactType": SIGNATURE_TYPE,
        "config": {"mediaType": EMPTY_CONFIG, "digest": empty_digest, "size": 2},
        "layers": [{"mediaType": SIGNATURE_TYPE, "digest": signature_digest, "size": signature.len()}],
        "subject": {"mediaType": OCI_IMAGE_MEDIA_TYPE, "digest": subject, "size": subject_size},
    }))
    .expect("JSON");
    let digest = oci_digest(&manifest);
    client
        .push_manifest_raw(
            &to.at(&digest),
            manifest.clone(),
            OCI_IMAGE_MEDIA_TYPE.parse().unwrap(),
        )
        .await
        .map_err(remote("pushing the signature's manifest to", to))?;
    // The referrers tag schema: the index at `sha256-<hex>` lists it too.
    let tag = subject.replace(':', "-");
    let index_ref = to.tagged(&tag);
    let mut index = match client
        .pull_manifest_raw(
            &index_ref,
            &RegistryAuth::Anonymous,
            &[OCI_IMAGE_INDEX_MEDIA_TYPE],
        )
        .await
    {
        Ok((bytes, _)) => serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    if !index["manifests"].is_array() {
        index =
            json!({"schemaVersion": 2, "mediaType": OCI_IMAGE_INDEX_MEDIA_TYPE, "manifests": []});
    }
    let entries = index["manifests"].as_array_mut().expect("an array");
    entries.retain(|e| e["digest"] != digest.as_str());
    entries.push(json!({
        "mediaType": OCI_IMAGE_MEDIA_TYPE,
        "digest": digest,
        "size": manifest.len(),
        "artifactType": SIGNATURE_TYPE,
    }));
    client
        .push_manifest_raw(
            &index_ref,
            serde_json::to_vec(&index).expect("JSON"),
            OCI_IMAGE_INDEX_MEDIA_TYPE.parse().unwrap(),
        )
        .await
        .map_err(remote(
            "listing the signature in the referrers index of",
            to,
        ))?;
    Ok(digest)
}
