//! `medic migrate`: create or update the store's schema, then say which
//! version it is at. `medic serve` does the same at start; `medic check`
//! never does (it only reads the version).

use std::path::Path;

use crate::UsageError;

pub(crate) fn run(path: &Path) -> Result<(), UsageError> {
    let config = crate::check::load(path)?;
    let url = config.storage.url;
    let where_ = |e: medic_store::StoreError| {
        UsageError(vec![format!("{}: storage.url: {e}", path.display())])
    };
    let runtime = crate::runtime()?;
    let schema = runtime.block_on(async {
        medic_store::connect(&url)
            .await
            .map_err(where_)?
            .close()
            .await;
        let (store, schema) = medic_store::connect_read_only(&url).await.map_err(where_)?;
        store.close().await;
        Ok::<_, UsageError>(schema)
    })?;
    crate::out::println(&format!(
        "storage: schema at version {} (current)",
        schema.latest
    ));
    Ok(())
}
