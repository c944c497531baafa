//! Decoding of Lever's events, for clients and indexers (accounts: [`crate::accounts`]).
//!
//! The program emits every event with `emit_cpi!`: a self-CPI whose instruction data is
//! `EVENT_IX_TAG_LE` (8 bytes), the event's 8-byte discriminator, then the event in borsh. Such an
//! inner instruction can only succeed when the program itself signs for its event authority, so an
//! event found in a landed transaction is the program's own. RPC nodes truncate logs more readily
//! than they drop inner instructions, which is why the program does not use `emit!`.
//!
//! Events are the program's own structs (`lever::events`), never copies: a layout change in the
//! program changes the decoder with it.

use anchor_lang::prelude::Pubkey;
use anchor_lang::{AnchorDeserialize, Discriminator, Event};
use lever::events::*;

/// One Lever event type, as held by a [`LeverEvent`] variant: lets callers pick events by type
/// ([`find`], [`filter`]).
pub trait LeverEventType: Sized + 'static {
    /// The event held by `event`, if it is of this type.
    fn of(event: &LeverEvent) -> Option<&Self>;
}

macro_rules! lever_events {
    ($($name:ident),* $(,)?) => {
        /// Any Lever event, holding the program's own struct.
        ///
        /// `#[event]` derives only borsh (no `Debug`, `Clone` or `PartialEq`) and the program is not
        /// changed for its clients, so those traits are implemented here through the event's
        /// bytes: clones and comparisons are exact, and `Debug` shows the name and the bytes.
        pub enum LeverEvent {
            $($name($name),)*
        }

        impl LeverEvent {
            /// The event's type name, as in the program and the IDL.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Self::$name(_) => stringify!($name),)*
                }
            }

            /// The event as the program writes it after the tag: discriminator, then borsh.
            pub fn data(&self) -> Vec<u8> {
                match self {
                    $(Self::$name(e) => Event::data(e),)*
                }
            }

            /// Decode a discriminator followed by the event's borsh (what [`LeverEvent::data`]
            /// gives). `None` for an unknown discriminator, or bytes that are not exactly one
            /// event of that type (a layout this SDK does not know).
            pub fn decode(data: &[u8]) -> Option<Self> {
                $(
                    if let Some(body) = data.strip_prefix(<$name as Discriminator>::DISCRIMINATOR) {
                        return <$name as AnchorDeserialize>::try_from_slice(body).ok().map(Self::$name);
                    }
                )*
                None
            }
        }

        $(
            impl From<$name> for LeverEvent {
                fn from(event: $name) -> Self {
                    Self::$name(event)
                }
            }

            impl LeverEventType for $name {
                fn of(event: &LeverEvent) -> Option<&Self> {
                    match event {
                        LeverEvent::$name(e) => Some(e),
                        #[allow(unreachable_patterns)]
                        _ => None,
                    }
                }
            }
        )*
    };
}

lever_events!(
    ConfigInitialized,
    ConfigUpdated,
    AdminTransferStarted,
    AdminTransferAccepted,
    MarketCreated,
    MarketParamsUpdated,
    MarketPauseChanged,
    MarketReopened,
    LtEpochStarted,
    LtRebased,
    RetiredLtConverted,
    FeesWithdrawn,
    FundingAccrued,
    Rebalanced,
    LtMinted,
    LtRedeemed,
    FundingDeposited,
    FundingWithdrawn,
    RequestOpened,
    RequestSettled,
    RequestCancelled,
    ShareMetadataUpdated,
);

impl LeverEvent {
    /// The market the event is about (`None` for the config and admin events).
    pub fn market(&self) -> Option<Pubkey> {
        match self {
            Self::ConfigInitialized(_)
            | Self::ConfigUpdated(_)
            | Self::AdminTransferStarted(_)
            | Self::AdminTransferAccepted(_) => None,
            Self::MarketCreated(e) => Some(e.market),
            Self::MarketParamsUpdated(e) => Some(e.market),
            Self::MarketPauseChanged(e) => Some(e.market),
            Self::MarketReopened(e) => Some(e.market),
            Self::LtEpochStarted(e) => Some(e.market),
            Self::LtRebased(e) => Some(e.market),
            Self::RetiredLtConverted(e) => Some(e.market),
            Self::FeesWithdrawn(e) => Some(e.market),
            Self::FundingAccrued(e) => Some(e.market),
            Self::Rebalanced(e) => Some(e.market),
            Self::LtMinted(e) => Some(e.market),
            Self::LtRedeemed(e) => Some(e.market),
            Self::FundingDeposited(e) => Some(e.market),
            Self::FundingWithdrawn(e) => Some(e.market),
            Self::RequestOpened(e) => Some(e.market),
            Self::RequestSettled(e) => Some(e.market),
            Self::RequestCancelled(e) => Some(e.market),
            Self::ShareMetadataUpdated(e) => Some(e.market),
        }
    }
}

impl Clone for LeverEvent {
    fn clone(&self) -> Self {
        // Borsh round trip of a value that was itself decoded from (or is) a valid event.
        Self::decode(&self.data()).expect("an event's own bytes decode")
    }
}

impl PartialEq for LeverEvent {
    /// Same type and same fields: the bytes hold the discriminator and every field, and borsh has
    /// one encoding per value.
    fn eq(&self, other: &Self) -> bool {
        self.data() == other.data()
    }
}

impl Eq for LeverEvent {}

impl std::fmt::Debug for LeverEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let data = self.data();
        let hex: String = data[8..].iter().map(|b| format!("{b:02x}")).collect();
        write!(f, "{}(0x{hex})", self.name())
    }
}

/// The first event of type `E` in `events` (`find::<LtMinted>(&landed.events)`).
pub fn find<E: LeverEventType>(events: &[LeverEvent]) -> Option<&E> {
    events.iter().find_map(E::of)
}

/// Every event of type `E` in `events`, in order.
pub fn filter<E: LeverEventType>(events: &[LeverEvent]) -> impl Iterator<Item = &E> {
    events.iter().filter_map(E::of)
}

/// Decode the data of an `emit_cpi!` self-CPI: the event tag, then the event. `None` for any other
/// instruction data or an unknown event; never panics.
pub fn decode_event_ix(data: &[u8]) -> Option<LeverEvent> {
    LeverEvent::decode(data.strip_prefix(anchor_lang::event::EVENT_IX_TAG_LE)?)
}

/// The Lever events among a transaction's inner instructions, given as (program id, data), in
/// order. Instructions of other programs are skipped (another program may use the same tag for its
/// own events), and so are Lever instructions that are not events or events this SDK does not know.
pub fn events_in(inner: impl IntoIterator<Item = (Pubkey, Vec<u8>)>) -> Vec<LeverEvent> {
    inner
        .into_iter()
        .filter(|(program_id, _)| *program_id == lever::ID)
        .filter_map(|(_, data)| decode_event_ix(&data))
        .collect()
}

/// The Lever events among inner instructions compiled against `keys` (the transaction's account
/// keys): each given as (program id index, data).
pub fn compiled_events(keys: &[Pubkey], inner: impl IntoIterator<Item = (u8, Vec<u8>)>) -> Vec<LeverEvent> {
    events_in(
        inner
            .into_iter()
            .filter_map(|(index, data)| Some((*keys.get(usize::from(index))?, data))),
    )
}

#[cfg(test)]
mod tests;
