//! Single flight: identical requests in flight at once share the first one's answer.
//!
//! The first request for a key leads and calls the provider; the ones that arrive while it runs
//! follow: they wait (bounded) for the leader's answer instead of calling the provider too. When the
//! leader fails or gives up (its guard is dropped), followers are released and go on their own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use llm_cache::{CacheKey, CachedAnswer};
use tokio::sync::watch;

/// What followers see of a flight.
#[derive(Clone, Debug)]
enum Flight {
    InFlight,
    Landed(Option<Arc<CachedAnswer>>),
}

type Flights = Arc<Mutex<HashMap<CacheKey, watch::Receiver<Flight>>>>;

/// The flights in progress.
#[derive(Debug, Default)]
pub(crate) struct SingleFlight {
    flights: Flights,
}

/// A request's part in a flight.
pub(crate) enum Role {
    /// Call the provider, then [`Leader::land`] with the answer.
    Leader(Leader),
    /// Wait for the leader with [`Follower::wait`].
    Follower(Follower),
}

impl SingleFlight {
    /// Joins the flight for `key`, leading it if there is none.
    pub(crate) fn join(&self, key: &CacheKey) -> Role {
        let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(receiver) = flights.get(key)
            && matches!(*receiver.borrow(), Flight::InFlight)
        {
            return Role::Follower(Follower {
                receiver: receiver.clone(),
            });
        }
        let (sender, receiver) = watch::channel(Flight::InFlight);
        flights.insert(key.clone(), receiver);
        Role::Leader(Leader {
            key: key.clone(),
            sender: Some(sender),
            flights: self.flights.clone(),
        })
    }

    /// Flights in progress.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.flights.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

/// The leader's end of a flight; dropping it without landing releases the followers empty-handed.
pub(crate) struct Leader {
    key: CacheKey,
    sender: Option<watch::Sender<Flight>>,
    flights: Flights,
}

impl Leader {
    /// Hands the answer (or `None` on failure) to every follower and ends the flight.
    pub(crate) fn land(mut self, answer: Option<Arc<CachedAnswer>>) {
        self.finish(answer);
    }

    fn finish(&mut self, answer: Option<Arc<CachedAnswer>>) {
        if let Some(sender) = self.sender.take() {
            self.flights
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&self.key);
            let _no_followers = sender.send(Flight::Landed(answer));
        }
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        self.finish(None);
    }
}

/// A follower's end of a flight.
pub(crate) struct Follower {
    receiver: watch::Receiver<Flight>,
}

impl Follower {
    /// The leader's answer, or `None` if it failed, gave up, or took longer than `limit`.
    pub(crate) async fn wait(mut self, limit: Duration) -> Option<Arc<CachedAnswer>> {
        let landed = self
            .receiver
            .wait_for(|flight| matches!(flight, Flight::Landed(_)));
        match tokio::time::timeout(limit, landed).await {
            Ok(Ok(flight)) => match &*flight {
                Flight::Landed(answer) => answer.clone(),
                Flight::InFlight => None,
            },
            Ok(Err(_)) | Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use llm_core::{ChatRequest, ChatResponse};

    use super::*;

    fn key() -> CacheKey {
        CacheKey::for_request("t", &"p".into(), "m", &ChatRequest::from_prompt("m", "hi"))
    }

    fn answer() -> Arc<CachedAnswer> {
        let response: ChatResponse = serde_json::from_value(serde_json::json!({"id": "x", "model": "m",
            "choices": []}))
        .unwrap();
        Arc::new(CachedAnswer {
            response,
            chunks: None,
        })
    }

    #[tokio::test]
    async fn followers_share_the_leaders_answer() {
        let flights = SingleFlight::default();
        let Role::Leader(leader) = flights.join(&key()) else {
            panic!("first leads")
        };
        let Role::Follower(follower) = flights.join(&key()) else {
            panic!("second follows")
        };
        let waiting = tokio::spawn(follower.wait(Duration::from_secs(5)));
        leader.land(Some(answer()));
        assert_eq!(waiting.await.unwrap().unwrap().response.id, "x");
        assert_eq!(flights.in_flight(), 0);
        assert!(
            matches!(flights.join(&key()), Role::Leader(_)),
            "a landed flight is over"
        );
    }

    #[tokio::test]
    async fn a_failed_or_slow_leader_releases_followers() {
        let flights = SingleFlight::default();
        let Role::Leader(leader) = flights.join(&key()) else {
            panic!()
        };
        let Role::Follower(follower) = flights.join(&key()) else {
            panic!()
        };
        drop(leader);
        assert!(follower.wait(Duration::from_secs(5)).await.is_none());

        let Role::Leader(_slow) = flights.join(&key()) else {
            panic!()
        };
        let Role::Follower(follower) = flights.join(&key()) else {
            panic!()
        };
        let started = tokio::time::Instant::now();
        assert!(follower.wait(Duration::from_millis(50)).await.is_none());
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
