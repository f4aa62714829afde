//! Clusters: CreateCluster, DescribeClusters, ListClusters, DeleteCluster.

use berth_store::{StoreExt, Tx, get_json, put_json, scan_json};
use serde_json::Value;

use crate::ecs::{DEFAULT_CLUSTER, Ecs, page};
use crate::error::EcsError;
use crate::lifecycle::TaskStatus;
use crate::model::{Cluster, Failure, Tag};
use crate::records::{StoredCluster, StoredInstance, StoredTask, T_CLUSTERS, T_INSTANCES, T_TASKS};
use crate::taskdef;

impl Ecs<'_> {
    /// The ACTIVE cluster `name` inside a transaction.
    pub(crate) fn active_cluster(&self, tx: &dyn Tx, name: &str) -> Result<Cluster, EcsError> {
        let key = format!("{}{name}", self.scope());
        match get_json::<StoredCluster>(tx, T_CLUSTERS, &key)? {
            Some(c) if c.cluster.status == "ACTIVE" => Ok(c.cluster),
            _ => Err(EcsError::ClusterNotFound),
        }
    }

    /// Like [`Ecs::active_cluster`], but makes the `default` cluster when a call that names no
    /// cluster (or names `default`) finds none, as AWS does on first use.
    pub(crate) fn cluster_or_default(
        &self,
        tx: &dyn Tx,
        name: &str,
        now: u64,
    ) -> Result<Cluster, EcsError> {
        match self.active_cluster(tx, name) {
            Err(EcsError::ClusterNotFound) if name == DEFAULT_CLUSTER => {
                self.put_new_cluster(tx, name, Vec::new(), Vec::new(), None, now)
            }
            other => other,
        }
    }

    fn put_new_cluster(
        &self,
        tx: &dyn Tx,
        name: &str,
        tags: Vec<Tag>,
        settings: Vec<Value>,
        configuration: Option<Value>,
        _now: u64,
    ) -> Result<Cluster, EcsError> {
        let settings = if settings.is_empty() {
            vec![serde_json::json!({"name": "containerInsights", "value": "disabled"})]
        } else {
            settings
        };
        let cluster = Cluster {
            cluster_arn: self.cluster_arn(name),
            cluster_name: name.to_string(),
            status: "ACTIVE".into(),
            registered_container_instances_count: 0,
            running_tasks_count: 0,
            pending_tasks_count: 0,
            active_services_count: 0,
            statistics: Vec::new(),
            tags,
            settings,
            capacity_providers: Vec::new(),
            default_capacity_provider_strategy: Vec::new(),
            configuration,
            service_connect_defaults: None,
        };
        let key = format!("{}{name}", self.scope());
        put_json(
            tx,
            T_CLUSTERS,
            &key,
            &StoredCluster {
                cluster: cluster.clone(),
            },
        )?;
        Ok(cluster)
    }

    /// CreateCluster: idempotent for an ACTIVE cluster of that name (AWS returns it unchanged).
    pub fn create_cluster(
        &self,
        name: Option<&str>,
        tags: Vec<Tag>,
        settings: Vec<Value>,
        configuration: Option<Value>,
        now: u64,
    ) -> Result<Cluster, EcsError> {
        let name = name.unwrap_or(DEFAULT_CLUSTER);
        if !taskdef::valid_name(name) {
            // AWS's wording for a bad cluster name is not known to berth.
            return Err(EcsError::InvalidParameter(
                "cluster name must be 1-255 letters, numbers, hyphens and underscores".into(),
            ));
        }
        self.store.write(|tx| match self.active_cluster(tx, name) {
            Ok(c) => self.with_counts(tx, c, now),
            Err(EcsError::ClusterNotFound) => {
                self.put_new_cluster(tx, name, tags, settings, configuration, now)
            }
            Err(e) => Err(e),
        })
    }

    /// The cluster with its instance and task counts filled in.
    fn with_counts(&self, tx: &dyn Tx, mut c: Cluster, now: u64) -> Result<Cluster, EcsError> {
        let prefix = format!("{}{}/", self.scope(), c.cluster_name);
        let instances: Vec<(String, StoredInstance)> = scan_json(tx, T_INSTANCES, &prefix)?;
        c.registered_container_instances_count = instances
            .iter()
            .filter(|(_, i)| i.instance.status != "INACTIVE")
            .count() as u32;
        let tasks: Vec<(String, StoredTask)> = scan_json(tx, T_TASKS, &prefix)?;
        let (mut running, mut pending) = (0, 0);
        for (_, t) in tasks.iter().filter(|(_, t)| t.visible(now)) {
            match TaskStatus::parse(&t.task.last_status) {
                Some(TaskStatus::Running) => running += 1,
                Some(s) if s.is_pending() => pending += 1,
                _ => {}
            }
        }
        c.running_tasks_count = running;
        c.pending_tasks_count = pending;
        c.active_services_count = self.active_services(tx, &c.cluster_name)?;
        Ok(c)
    }

    /// DescribeClusters: `names` empty means `default`; unknown ones are `MISSING` failures.
    pub fn describe_clusters(
        &self,
        names: &[String],
        now: u64,
    ) -> Result<(Vec<Cluster>, Vec<Failure>), EcsError> {
        crate::ecs::check_describe_count("clusters", names.len())?;
        let wanted: Vec<String> = if names.is_empty() {
            vec![DEFAULT_CLUSTER.to_string()]
        } else {
            names.to_vec()
        };
        self.store.read(|tx| {
            let mut out = Vec::new();
            let mut failures = Vec::new();
            for given in &wanted {
                let name = match self.cluster_name(Some(given)) {
                    Ok(n) => n,
                    Err(_) => {
                        failures.push(Failure::new(given, "MISSING"));
                        continue;
                    }
                };
                let key = format!("{}{name}", self.scope());
                match get_json::<StoredCluster>(tx, T_CLUSTERS, &key)? {
                    Some(c) => out.push(self.with_counts(tx, c.cluster, now)?),
                    None => failures.push(Failure::new(&self.cluster_arn(&name), "MISSING")),
                }
            }
            Ok((out, failures))
        })
    }

    /// ListClusters: the ARNs of ACTIVE clusters, by name.
    pub fn list_clusters(
        &self,
        token: Option<&str>,
        max: Option<i64>,
    ) -> Result<(Vec<String>, Option<String>), EcsError> {
        let all: Vec<(String, StoredCluster)> = self
            .store
            .read(|tx| scan_json(tx, T_CLUSTERS, &self.scope()))?;
        let items: Vec<(String, String)> = all
            .into_iter()
            .filter(|(_, c)| c.cluster.status == "ACTIVE")
            .map(|(_, c)| (c.cluster.cluster_name.clone(), c.cluster.cluster_arn))
            .collect();
        page(&items, token, max)
    }

    /// DeleteCluster: only without registered instances and active tasks; the cluster stays
    /// describable as INACTIVE.
    pub fn delete_cluster(&self, reference: &str, now: u64) -> Result<Cluster, EcsError> {
        let name = self.cluster_name(Some(reference))?;
        self.store.write(|tx| {
            let cluster = self.active_cluster(tx, &name)?;
            let cluster = self.with_counts(tx, cluster, now)?;
            if cluster.registered_container_instances_count > 0 {
                return Err(EcsError::ClusterContainsInstances);
            }
            if self.services_not_inactive(tx, &name)? > 0 {
                return Err(EcsError::ClusterContainsServices);
            }
            let prefix = format!("{}{name}/", self.scope());
            let tasks: Vec<(String, StoredTask)> = scan_json(tx, T_TASKS, &prefix)?;
            if tasks
                .iter()
                .any(|(_, t)| t.task.last_status != "STOPPED" && t.visible(now))
            {
                return Err(EcsError::ClusterContainsTasks);
            }
            let mut cluster = cluster;
            cluster.status = "INACTIVE".into();
            let key = format!("{}{name}", self.scope());
            put_json(
                tx,
                T_CLUSTERS,
                &key,
                &StoredCluster {
                    cluster: cluster.clone(),
                },
            )?;
            Ok(cluster)
        })
    }
}
