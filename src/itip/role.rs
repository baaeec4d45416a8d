//! Identifying scheduling object resources (RFC 6638 §3.1).

use calcard::icalendar::{ICalendar, ICalendarComponentType, ICalendarEntry, ICalendarProperty};

use super::{
    address::{AddressSet, CalAddress},
    model::{address_of, Cal},
    SchedulingError,
};

/// The part the owner of a calendar object plays in it (RFC 6638 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Not a scheduling object resource: no ORGANIZER, the owner is
    /// neither organizer nor attendee, or a component type that is not
    /// scheduled implicitly (only VEVENT and VTODO are: RFC 5546 §3.2,
    /// §3.4).
    Plain,
    /// An organizer scheduling object resource: the ORGANIZER is one of
    /// the owner's addresses.
    Organizer,
    /// An attendee scheduling object resource, with the owner's address
    /// that is an ATTENDEE (as written in the object).
    Attendee(CalAddress),
}

/// RFC 6638 §3.1: the ORGANIZER, present and the same in every
/// component, is one of `owner`'s addresses (organizer) or not, with one
/// of them an ATTENDEE (attendee). An organizer who is also an attendee is
/// the organizer (§3.2.1). Components that disagree on the ORGANIZER
/// (one without it while another has it, or two values) are refused with
/// `same-organizer-in-all-components` (§3.2.4.2).
pub fn role(object: &ICalendar, owner: &AddressSet) -> Result<Role, SchedulingError> {
    let cal = Cal::from_ical(object).map_err(|e| SchedulingError::ValidSchedulingMessage(e.to_string()))?;
    if !is_scheduled_kind(&cal) {
        return Ok(Role::Plain);
    }
    let Some((organizer, _)) = organizer_of(&cal)? else {
        return Ok(Role::Plain);
    };
    if owner.contains(&organizer) {
        return Ok(Role::Organizer);
    }
    for item in &cal.items {
        if let Some(who) = item.tree.attendees().filter_map(address_of).find(|a| owner.contains(a)) {
            return Ok(Role::Attendee(who));
        }
    }
    Ok(Role::Plain)
}

/// VEVENT and VTODO are scheduled (RFC 5546 §3.2, §3.4; VJOURNAL has no
/// REQUEST, VFREEBUSY is scheduled through the outbox, RFC 6638 §5).
pub(crate) fn is_scheduled_kind(cal: &Cal) -> bool {
    matches!(
        cal.kind(),
        Some(ICalendarComponentType::VEvent | ICalendarComponentType::VTodo)
    ) && cal.items.iter().all(|i| Some(i.tree.kind()) == cal.kind())
}

/// The ORGANIZER common to all components (§3.2.4.2), with the first
/// component's property; `None` when no component has one.
pub(crate) fn organizer_of(cal: &Cal) -> Result<Option<(CalAddress, &ICalendarEntry)>, SchedulingError> {
    let mut found: Option<(CalAddress, &ICalendarEntry)> = None;
    let mut without = false;
    for item in &cal.items {
        let mut organizers = item.tree.entries(ICalendarProperty::Organizer);
        let entry = organizers.next();
        if organizers.next().is_some() {
            return Err(SchedulingError::SameOrganizerInAllComponents);
        }
        match entry.map(|e| (address_of(e), e)) {
            None => without = true,
            Some((None, _)) => return Err(SchedulingError::SameOrganizerInAllComponents),
            Some((Some(address), e)) => match &found {
                Some((first, _)) if first != &address => {
                    return Err(SchedulingError::SameOrganizerInAllComponents)
                }
                Some(_) => {}
                None => found = Some((address, e)),
            },
        }
    }
    if found.is_some() && without {
        return Err(SchedulingError::SameOrganizerInAllComponents);
    }
    Ok(found)
}
