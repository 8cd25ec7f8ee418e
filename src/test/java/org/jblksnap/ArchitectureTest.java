package org.jblksnap;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideOutsideOfPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * The dependency direction of DESIGN.md's parts, checked on the main classes:
 * `cli`, `daemon` → `control`, `nbd.server`, `fuse`, `backup` → `snapshot` → `image`, `tracker`
 * → `cow`, `cbt`, `diff` → `device`, `params` → `error`; `backup` → `nbd.client`, `repo`;
 * `nbd.server`, `nbd.client` → `nbd.protocol`. Each rule says why in its `because`; a failure
 * names the class, the member and the line that broke it.
 */
@AnalyzeClasses(packages = "org.jblksnap", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {
    private static final String[] ENGINE = {"org.jblksnap.error..", "org.jblksnap.params..", "org.jblksnap.device..",
            "org.jblksnap.cbt..", "org.jblksnap.diff..", "org.jblksnap.cow..", "org.jblksnap.tracker..",
            "org.jblksnap.image..", "org.jblksnap.snapshot.."};
    private static final String[] FRONT_ENDS = {"org.jblksnap.nbd..", "org.jblksnap.fuse..", "org.jblksnap.control..",
            "org.jblksnap.daemon..", "org.jblksnap.cli..", "org.jblksnap.backup..", "org.jblksnap.repo.."};

    @ArchTest
    static final ArchRule theEngineNeverImportsAFrontEnd = noClasses().that().resideInAnyPackage(ENGINE)
            .should().dependOnClassesThat().resideInAnyPackage(FRONT_ENDS)
            .because("front ends subscribe to the engine (the kernel module's part), never the other way round");

    @ArchTest
    static final ArchRule errorIsTheBottom = classes().that().resideInAPackage("org.jblksnap.error..")
            .should().onlyDependOnClassesThat(resideInAnyPackage("org.jblksnap.error..")
                    .or(resideOutsideOfPackage("org.jblksnap..")))
            .because("every part may throw the engine's errors, so they depend on no part");

    @ArchTest
    static final ArchRule deviceAndParamsAreTheEnginesBase = noClasses()
            .that().resideInAnyPackage("org.jblksnap.device..", "org.jblksnap.params..")
            .should().dependOnClassesThat().resideInAnyPackage("org.jblksnap.cbt..", "org.jblksnap.cow..",
                    "org.jblksnap.diff..", "org.jblksnap.tracker..", "org.jblksnap.image..", "org.jblksnap.snapshot..")
            .because("positional I/O and the tunables are what the rest of the engine is built on");

    @ArchTest
    static final ArchRule cowCbtAndDiffKnowNoIoPath = noClasses()
            .that().resideInAnyPackage("org.jblksnap.cbt..", "org.jblksnap.cow..", "org.jblksnap.diff..")
            .should().dependOnClassesThat().resideInAnyPackage("org.jblksnap.tracker..", "org.jblksnap.image..",
                    "org.jblksnap.snapshot..")
            .because("the change map, the chunk map and the difference storage serve the tracker and the image");

    @ArchTest
    static final ArchRule theTrackerKnowsNoImage = noClasses().that().resideInAPackage("org.jblksnap.tracker..")
            .should().dependOnClassesThat().resideInAnyPackage("org.jblksnap.image..", "org.jblksnap.snapshot..")
            .because("the tracker is one device's write path; the snapshot ties it to its image");

    @ArchTest
    static final ArchRule theImageKnowsNoTracker = noClasses().that().resideInAPackage("org.jblksnap.image..")
            .should().dependOnClassesThat().resideInAnyPackage("org.jblksnap.tracker..", "org.jblksnap.snapshot..")
            .because("the image reaches the device and the difference storage through the chunk map, "
                    + "and the snapshot ties it to its tracker");

    @ArchTest
    static final ArchRule frontEndsDoNotReachIntoTheSnapshot = noClasses().that().resideInAnyPackage(FRONT_ENDS)
            .should().dependOnClassesThat().resideInAnyPackage("org.jblksnap.cow..")
            .because("the chunk map belongs to the snapshot; its failures reach front ends as errnos (the "
                    + "difference storage's usage, which snapshot_info reports, is read through the snapshot)");

    @ArchTest
    static final ArchRule theNbdProtocolIsSharedByBothSides = noClasses()
            .that().resideInAPackage("org.jblksnap.nbd.protocol..")
            .should().dependOnClassesThat().resideInAnyPackage("org.jblksnap.nbd.server..", "org.jblksnap.nbd.client..")
            .because("nbd.protocol is what the server and the client share, as nbdkit and libnbd share their "
                    + "protocol header");

    @ArchTest
    static final ArchRule theNbdClientKnowsNoServer = noClasses().that().resideInAPackage("org.jblksnap.nbd.client..")
            .should().dependOnClassesThat().resideInAPackage("org.jblksnap.nbd.server..")
            .because("the client talks to any NBD server (qemu-nbd, nbdkit) through nbd.protocol alone");

    @ArchTest
    static final ArchRule theNbdServerKnowsNoClient = noClasses().that().resideInAPackage("org.jblksnap.nbd.server..")
            .should().dependOnClassesThat().resideInAPackage("org.jblksnap.nbd.client..")
            .because("the server serves any NBD client through nbd.protocol alone");

    @ArchTest
    static final ArchRule theRepositoryKnowsNoBackupRun = noClasses().that().resideInAPackage("org.jblksnap.repo..")
            .should().dependOnClassesThat().resideInAnyPackage("org.jblksnap.backup..", "org.jblksnap.nbd..",
                    "org.jblksnap.fuse..", "org.jblksnap.control..", "org.jblksnap.daemon..", "org.jblksnap.cli..")
            .because("repo is a storage format; backup runs are built on it");

    @ArchTest
    static final ArchRule onlyTheCommandKnowsTheDaemon = noClasses()
            .that().resideOutsideOfPackages("org.jblksnap.cli..", "org.jblksnap.daemon..")
            .should().dependOnClassesThat().resideInAnyPackage("org.jblksnap.cli..", "org.jblksnap.daemon..")
            .because("cli and daemon assemble the parts; no part depends on what assembles it");
}
